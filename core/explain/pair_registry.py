"""Pair explainers by name, and one call that explains a sentence pair with several of them.

Parameters are routed as in :mod:`core.explain.registry`: a flat parameter goes to every
requested method that takes it, a dict under a method's name to that method only; a name
no pair explainer takes is an error.
"""

from __future__ import annotations

import inspect
from typing import Any, Sequence

from core.explain.base import ExplainError
from core.explain.gmask import GMaskExplainer, IMaskExplainer
from core.explain.pair_base import PairExplainer
from core.explain.pair_perturbation import PairLime, PairShapley, PairZeroErasure
from core.explain.registry import ExplainRun
from core.models.pair import LoadedPairModel, is_pair_model

PAIR_EXPLAINERS: dict[str, type[PairExplainer]] = {
    "gmask": GMaskExplainer,
    "imask": IMaskExplainer,
    "zero": PairZeroErasure,
    "lime": PairLime,
    "shapley": PairShapley,
}
DEFAULT_PAIR_METHODS = ("gmask", "imask", "zero")


def pair_explainer_class(name: str) -> type[PairExplainer]:
    """The pair explainer registered as ``name``; :class:`ExplainError` listing the names otherwise."""
    if name not in PAIR_EXPLAINERS:
        raise ExplainError(f"unknown pair explainer {name!r}; choose one of {', '.join(PAIR_EXPLAINERS)}")
    return PAIR_EXPLAINERS[name]


def pair_parameter_names(name: str) -> set[str]:
    """Keyword parameters the ``name`` pair explainer's constructor accepts (besides ``model``)."""
    signature = inspect.signature(pair_explainer_class(name).__init__)
    return {p for p in signature.parameters if p not in ("self", "model")}


def get_pair_explainer(name: str, model: LoadedPairModel, **params: Any) -> PairExplainer:
    """Build the ``name`` pair explainer for ``model`` (ExplainError on a bad name or parameter)."""
    cls = pair_explainer_class(name)
    unknown = sorted(set(params) - pair_parameter_names(name))
    if unknown:
        raise ExplainError(f"the {name} pair explainer does not take {', '.join(unknown)}; "
                           f"it takes {', '.join(sorted(pair_parameter_names(name)))}")
    return cls(model, **params)


def explain_pair(model: LoadedPairModel, text_a: str, text_b: str, methods: Sequence[str] = DEFAULT_PAIR_METHODS,
                 target: int | None = None, **params: Any) -> ExplainRun:
    """Explain a pair prediction with each of ``methods`` (see :data:`PAIR_EXPLAINERS`).

    Returns:
        An :class:`~core.explain.registry.ExplainRun` of :class:`~core.explain.pair_base.PairExplanation`.

    Raises:
        ExplainError: a single-text model, unknown method or parameter, an empty text, a bad target.
    """
    if not is_pair_model(model):
        raise ExplainError(f"{model.name or 'this model'} reads one text; give a sentence-pair model "
                           "(pair: true in `python -m core.models list`) or explain a single text")
    methods = list(dict.fromkeys(methods))
    for name in methods:
        pair_explainer_class(name)
    flat = {k: v for k, v in params.items() if k not in PAIR_EXPLAINERS}
    known = set().union(*(pair_parameter_names(name) for name in PAIR_EXPLAINERS))
    unknown = sorted(set(flat) - known)
    if unknown:
        raise ExplainError(f"no pair explainer takes {', '.join(unknown)}; the parameters are {', '.join(sorted(known))}")
    run = ExplainRun()
    for name in methods:
        own = params.get(name, {})
        if not isinstance(own, dict):
            raise ExplainError(f"parameters for {name} must be a dict, got {type(own).__name__}")
        routed = {**{k: v for k, v in flat.items() if k in pair_parameter_names(name)}, **own}
        run.explanations.append(get_pair_explainer(name, model, **routed).explain(text_a, text_b, target))
    return run
