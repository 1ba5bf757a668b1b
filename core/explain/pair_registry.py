"""Pair explainers by name, and one call that explains a sentence pair with several of them.

Parameters are routed as in :mod:`core.explain.registry`: a flat parameter goes to every
requested method that takes it, a dict under a method's name to that method only; a name
no pair explainer takes is an error.
"""

from __future__ import annotations

from typing import Any, Sequence

from core.explain.base import ExplainError
from core.explain.gmask import GMaskExplainer, IMaskExplainer
from core.explain.pair_base import PairExplainer
from core.explain.pair_perturbation import PairLime, PairShapley, PairZeroErasure
from core.explain.registry import ExplainRun, explainer_class, get_explainer, route_params
from core.models.pair import LoadedPairModel, is_pair_model

PAIR_EXPLAINERS: dict[str, type[PairExplainer]] = {
    "gmask": GMaskExplainer,
    "imask": IMaskExplainer,
    "zero": PairZeroErasure,
    "lime": PairLime,
    "shapley": PairShapley,
}
DEFAULT_PAIR_METHODS = ("gmask", "imask", "zero")
KIND = "pair explainer"


def pair_explainer_class(name: str) -> type[PairExplainer]:
    """The pair explainer registered as ``name``; :class:`ExplainError` listing the names otherwise."""
    return explainer_class(name, PAIR_EXPLAINERS, KIND)


def get_pair_explainer(name: str, model: LoadedPairModel, **params: Any) -> PairExplainer:
    """Build the ``name`` pair explainer for ``model`` (ExplainError on a bad name or parameter)."""
    return get_explainer(name, model, PAIR_EXPLAINERS, KIND, **params)


def explain_pair(model: LoadedPairModel, text_a: str, text_b: str, methods: Sequence[str] = DEFAULT_PAIR_METHODS,
                 target: int | None = None, **params: Any) -> ExplainRun:
    """Explain a pair prediction with each of ``methods`` (see :data:`PAIR_EXPLAINERS`).

    Returns:
        An :class:`~core.explain.registry.ExplainRun` of :class:`~core.explain.pair_base.PairExplanation`.

    Raises:
        ExplainError: a single-text model, no method, an unknown method or parameter, an empty text,
            a bad target.
    """
    if not is_pair_model(model):
        raise ExplainError(f"{model.name or 'this model'} reads one text; give a sentence-pair model "
                           "(pair: true in `python -m core.models list`) or explain a single text")
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise ExplainError(f"no method given; choose from {', '.join(PAIR_EXPLAINERS)}")
    for name in methods:
        pair_explainer_class(name)
    routed = route_params(methods, params, PAIR_EXPLAINERS, KIND)
    run = ExplainRun()
    for name in methods:
        run.explanations.append(get_pair_explainer(name, model, **routed[name]).explain(text_a, text_b, target))
    return run
