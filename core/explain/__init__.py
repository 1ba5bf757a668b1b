"""Explainers: per-word scores for a classifier's prediction (see :mod:`core.explain.base` for the contract).

==========  ==========================================  =====================
name        method                                      unit
==========  ==========================================  =====================
zero        leave-one-out, zero embedding (Li 2016)     log2 odds (or prob.)
unk         leave-one-out, unknown token                log2 odds (or prob.)
marginal    input marginalization (Kim et al. 2020)     log2 odds
lime        LIME, captum ``Lime``                       probability
shapley     Shapley value sampling, captum              probability
vmask       the mask model's own importance             keep probability
==========  ==========================================  =====================

Wordpiece models are explained per word: every piece of a word is erased,
replaced or masked together.
"""

from core.explain.base import Explainer, ExplainError, Explanation, log2_odds
from core.explain.registry import DEFAULT_METHODS, EXPLAINERS, ExplainRun, explain, get_explainer

__all__ = ["DEFAULT_METHODS", "EXPLAINERS", "ExplainError", "ExplainRun", "Explainer", "Explanation", "explain",
           "get_explainer", "log2_odds"]
