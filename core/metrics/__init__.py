"""Evaluation metrics for explanations: faithfulness (AOPC, post-hoc accuracy, degradation,
AUC_rep, ERASER comprehensiveness and sufficiency), word frequency vs importance, and agreement
between methods.

The metrics take a :data:`~core.metrics.perturbation.Scorer` (word lists -> probabilities)
rather than a model; :func:`~core.metrics.perturbation.model_scorer` builds one for a
:class:`~core.models.factory.LoadedModel`. The perturbations (word deletions) are in
:mod:`core.metrics.perturbation`, the metric arithmetic in :mod:`core.metrics.faithfulness`.
"""

from core.metrics.agreement import agreement_matrix, kendall_tau, top_k, top_k_overlap
from core.metrics.eraser import THRESHOLDS, EraserResult, comprehensiveness, sufficiency
from core.metrics.faithfulness import (RANKINGS, UNITS, AOPCResult, AUCRepResult, DegradationResult, aopc, auc_rep,
                                       degradation, degradation_curves, examples_from_explanations, posthoc_accuracy,
                                       posthoc_hits, ranking_of)
from core.metrics.perturbation import (OPERATIONS, Scorer, ZeroedWord, delete_words, deletion_chain, deletion_chains,
                                       keep_words, model_scorer, perturb, replace_words, unk_token_for)
from core.metrics.importance import FrequencyImportance, frequency_importance

__all__ = ["AOPCResult", "AUCRepResult", "DegradationResult", "EraserResult", "FrequencyImportance", "Scorer",
           "agreement_matrix", "aopc", "auc_rep", "comprehensiveness", "degradation", "degradation_curves",
           "delete_words", "deletion_chain", "deletion_chains",
           "OPERATIONS", "RANKINGS", "THRESHOLDS", "UNITS", "posthoc_hits", "ranking_of",
           "ZeroedWord", "examples_from_explanations", "frequency_importance",
           "keep_words", "kendall_tau", "model_scorer", "perturb", "posthoc_accuracy", "replace_words", "sufficiency",
           "top_k", "top_k_overlap", "unk_token_for"]
