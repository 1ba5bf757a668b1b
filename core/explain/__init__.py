"""Explainers: per-word scores for a classifier's prediction, of one text or a sentence pair.

See :mod:`core.explain.base` for the contract and the declarations each explainer makes, and
:mod:`core.explain.registry` for the one registry (``explainers_for("text")`` / ``("pair")``).

==========  ==========================================  =====================  ==========
name        method                                      unit                   inputs
==========  ==========================================  =====================  ==========
zero        leave-one-out, zero embedding (Li 2016)     log2 odds (or prob.)   text, pair
unk         leave-one-out, unknown token                log2 odds (or prob.)   text
marginal    input marginalization (Kim et al. 2020)     log2 odds              text
lime        LIME, captum ``Lime``                       probability            text, pair
shapley     Shapley value sampling, captum              probability            text, pair
vmask       the mask model's own importance             keep probability       text
attention   attention weights of ATT/VAT models         attention weight       text
evarm       the E-VarM gate                             keep probability       text
global      the mask model's global word importance     global importance      text
gmask       GMASK word groups (Chen et al. 2021)        weighted attribution   pair
imask       IMASK word masks                            keep probability       pair
==========  ==========================================  =====================  ==========

Wordpiece models are explained per word: every piece of a word is erased,
replaced or masked together.
"""

from core.explain.base import Explainer, ExplainError, Explanation, PairExplanation, log2_odds
from core.explain.registry import (DEFAULT_METHODS, DEFAULT_PAIR_METHODS, EXPLAINERS, ExplainRun, explain,
                                   explain_pair, explainers_for, get_explainer)

__all__ = ["DEFAULT_METHODS", "DEFAULT_PAIR_METHODS", "EXPLAINERS", "ExplainError", "ExplainRun", "Explainer",
           "Explanation", "PairExplanation", "explain", "explain_pair", "explainers_for", "get_explainer",
           "log2_odds"]
