"""Explainers by name, and one call that explains a text with several of them.

Parameters given to :func:`explain` are routed by name: a flat parameter
(``seed=1``, ``sigma=1e-4``, ``n_samples=200``) goes to every requested method
whose constructor takes it and is ignored by the others (so one settings dict
can serve any choice of methods), but a name no explainer takes at all is an
error (a typo); a dict under a method's name (``lime={"n_samples": 200}``)
goes to that method only and wins over the flat ones.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from core.checkpoints import CheckpointError
from core.explain.attention import AttentionExplainer
from core.explain.base import Explainer, ExplainError, Explanation
from core.explain.erasure import UnkErasure, ZeroErasure
from core.explain.evarm import EVarMExplainer
from core.explain.global_importance import GlobalImportanceExplainer
from core.explain.marginal import InputMarginalization
from core.explain.mask import VMaskExplainer
from core.explain.perturbation import LimeExplainer, ShapleyExplainer
from core.lm.base import LikelihoodModel
from core.models.factory import LoadedModel

EXPLAINERS: dict[str, type[Explainer]] = {
    "zero": ZeroErasure,
    "unk": UnkErasure,
    "marginal": InputMarginalization,
    "lime": LimeExplainer,
    "shapley": ShapleyExplainer,
    "vmask": VMaskExplainer,
    "attention": AttentionExplainer,
    "evarm": EVarMExplainer,
    "global": GlobalImportanceExplainer,
}
DEFAULT_METHODS = ("vmask", "zero", "marginal")


@dataclass
class ExplainRun:
    """Result of :func:`explain`.

    Attributes:
        explanations: one :class:`Explanation` per method that applied, in the order asked.
        skipped: method name -> why it did not apply to this model (e.g. ``vmask`` on a base model).
    """

    explanations: list[Explanation] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Explanation]:
        return iter(self.explanations)

    def __len__(self) -> int:
        return len(self.explanations)

    def get(self, method: str) -> Explanation | None:
        """The explanation of ``method``, or None when it was skipped or not asked for."""
        return next((e for e in self.explanations if e.method == method), None)


def explainer_class(name: str, registry: dict[str, type] | None = None, kind: str = "explainer") -> type:
    """The class registered as ``name`` in ``registry`` (default :data:`EXPLAINERS`).

    Raises:
        ExplainError: an unknown name; the message lists the registered ones.
    """
    registry = EXPLAINERS if registry is None else registry
    if name not in registry:
        raise ExplainError(f"unknown {kind} {name!r}; choose one of {', '.join(registry)}")
    return registry[name]


def parameter_names(name: str, registry: dict[str, type] | None = None) -> set[str]:
    """Keyword parameters the ``name`` explainer's constructor accepts (besides ``model``)."""
    signature = inspect.signature(explainer_class(name, registry).__init__)
    return {p for p in signature.parameters if p not in ("self", "model")}


def get_explainer(name: str, model: LoadedModel, registry: dict[str, type] | None = None, kind: str = "explainer",
                  **params: Any) -> Explainer:
    """Build the ``name`` explainer of ``registry`` (default :data:`EXPLAINERS`) for ``model``.

    Raises:
        ExplainError: unknown name (the message lists the names), a parameter
            that explainer does not take, or an explainer that does not apply
            (``vmask`` on a model without a mask).
    """
    cls = explainer_class(name, registry, kind)
    accepted = parameter_names(name, registry)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ExplainError(f"the {name} {kind} does not take {', '.join(unknown)}; "
                           f"it takes {', '.join(sorted(accepted))}")
    return cls(model, **params)


def skip_reason(name: str, model: LoadedModel) -> str | None:
    """Why explainer ``name`` does not apply to ``model`` (None when it does)."""
    kind = model.config.get("mask_config", {}).get("kind", "none")
    if explainer_class(name).requires_mask and kind == "none":
        return (f"{name} reads the model's own mask, but {model.name or 'this model'} was trained without one "
                f"(method {model.config.get('method', 'base')!r})")
    reason = explainer_class(name).unsupported_reason(model)
    if reason:
        return reason
    return None


def default_likelihood() -> LikelihoodModel:
    """The shipped masked-LM likelihood (``core.lm.mlm.load_likelihood("mlm")``), imported lazily.

    Raises:
        ExplainError: no MLM module is installed or the model cannot be loaded.
    """
    try:
        from core.lm.mlm import load_likelihood
    except ModuleNotFoundError as error:
        if error.name not in ("core.lm.mlm", "core.lm"):
            raise
        raise ExplainError("input marginalization needs a likelihood model: pass likelihood=... "
                           "(core.lm.mlm is not available)") from error
    try:
        return load_likelihood("mlm")
    except (OSError, ValueError, CheckpointError) as error:
        raise ExplainError(f"input marginalization needs a likelihood model; the default MLM could not be "
                           f"loaded: {error}") from error


def route_params(methods: Sequence[str], params: dict[str, Any], registry: dict[str, type] | None = None,
                 kind: str = "explainer") -> dict[str, dict[str, Any]]:
    """Per method, its parameters: flat ones it accepts, then its own dict (see module docstring).

    Raises:
        ExplainError: a flat parameter no explainer takes, or a method's entry that is not a dict.
    """
    registry = EXPLAINERS if registry is None else registry
    flat = {k: v for k, v in params.items() if k not in registry}
    known = set().union(*(parameter_names(name, registry) for name in registry))
    unknown = sorted(set(flat) - known)
    if unknown:
        raise ExplainError(f"no {kind} takes {', '.join(unknown)}; the parameters are {', '.join(sorted(known))}")
    accepted = {name: parameter_names(name, registry) for name in methods}
    routed = {}
    for name in methods:
        own = params.get(name, {})
        if not isinstance(own, dict):
            raise ExplainError(f"parameters for {name} must be a dict, got {type(own).__name__}")
        routed[name] = {**{k: v for k, v in flat.items() if k in accepted[name]}, **own}
    return routed


def explain(model: LoadedModel, text: str, methods: Sequence[str] = DEFAULT_METHODS, target: int | None = None,
            likelihood: LikelihoodModel | None = None, **params: Any) -> ExplainRun:
    """Explain ``text`` with each of ``methods`` (those that do not apply to ``model`` are skipped).

    Args:
        model: the model to explain.
        text: raw text.
        methods: explainer names (see :data:`EXPLAINERS`).
        target: class index to explain (default: each method explains the predicted class).
        likelihood: for ``marginal``; default the shipped MLM (:func:`default_likelihood`).
        **params: explainer parameters, routed as the module docstring says.

    Returns:
        An :class:`ExplainRun` (explanations in method order; ``skipped`` name -> reason).

    Raises:
        ExplainError: no method, unknown method, bad parameter, empty text, target out
            of range, or no likelihood model for ``marginal``.
    """
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise ExplainError(f"no method given; choose from {', '.join(EXPLAINERS)}")
    for name in methods:
        explainer_class(name)
    routed = route_params(methods, params)
    run = ExplainRun()
    for name in methods:
        reason = skip_reason(name, model)
        if reason:
            run.skipped[name] = reason
            continue
        if name == "marginal" and "likelihood" not in routed[name]:
            routed[name]["likelihood"] = likelihood if likelihood is not None else default_likelihood()
        run.explanations.append(get_explainer(name, model, **routed[name]).explain(text, target))
    return run
