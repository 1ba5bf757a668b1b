"""Explainers by name, and one call that explains a text (or a sentence pair) with several of them.

There is one registry, :data:`EXPLAINERS`: every :class:`~core.explain.base.Explainer` subclass
that sets its own ``name`` is in it once its module is imported (this module imports the
built-in ones). Each class declares what it supports (``supports``: text, pair or both), what it
needs (``requires_mask``, ``needs_likelihood``) and its parameters (:meth:`Explainer.parameters`);
:func:`explainers_for` gives the ones for single texts or for pairs.

Parameters given to :func:`explain` are routed by name: a flat parameter
(``seed=1``, ``sigma=1e-4``, ``n_samples=200``) goes to every requested method
whose constructor takes it and is ignored by the others (so one settings dict
can serve any choice of methods), but a name no explainer of that kind takes at
all is an error (a typo); a dict under a method's name (``lime={"n_samples": 200}``)
goes to that method only and wins over the flat ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

# the built-in explainers register themselves when their modules are imported, in this order
import core.explain.gmask  # noqa: F401  gmask, imask (pairs only)
import core.explain.erasure  # noqa: F401  zero, unk
import core.explain.marginal  # noqa: F401  marginal
import core.explain.perturbation  # noqa: F401  lime, shapley
import core.explain.mask  # noqa: F401  vmask
import core.explain.attention  # noqa: F401  attention
import core.explain.evarm  # noqa: F401  evarm
import core.explain.global_importance  # noqa: F401  global
import core.explain.gradient  # noqa: F401  saliency, grad_input, integrated_gradients
from core.checkpoints import CheckpointError
from core.explain.base import EXPLAINERS, Explainer, ExplainError, Explanation, model_kind
from core.lm.base import LikelihoodModel
from core.progress import ProgressLike, as_progress

KINDS = ("text", "pair")
DEFAULT_METHODS = ("vmask", "zero", "marginal")
DEFAULT_PAIR_METHODS = ("gmask", "imask", "zero")
KIND_WORDS = {"text": "explainer", "pair": "pair explainer"}


@dataclass
class ExplainRun:
    """Result of :func:`explain` / :func:`explain_pair`.

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


def explainers_for(kind: str | None = None) -> dict[str, type[Explainer]]:
    """The registered explainers supporting ``kind`` (``"text"`` or ``"pair"``; None: all), in registry order."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return {name: cls for name, cls in EXPLAINERS.items() if kind is None or kind in cls.supports}


def explainer_class(name: str, kind: str | None = None) -> type[Explainer]:
    """The class registered as ``name`` (and supporting ``kind`` when given).

    Raises:
        ExplainError: an unknown name, or one that does not explain ``kind``; the message lists
            the names that do.
    """
    available = explainers_for(kind)
    if name not in available:
        raise ExplainError(f"unknown {KIND_WORDS.get(kind, 'explainer')} {name!r}; choose one of "
                           f"{', '.join(available)}")
    return available[name]


def parameter_names(name: str) -> set[str]:
    """Keyword parameters the ``name`` explainer's constructor accepts (besides ``model``)."""
    return {p.name for p in explainer_class(name).parameters()}


def get_explainer(name: str, model: Any, **params: Any) -> Explainer:
    """Build the ``name`` explainer for ``model`` (a single-text or pair model).

    Raises:
        ExplainError: unknown name (the message lists the names), a parameter that explainer
            does not take, or an explainer that does not apply (``vmask`` on a model without a
            mask, a pair-only explainer on a single-text model, ...).
    """
    cls = explainer_class(name)
    accepted = parameter_names(name)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ExplainError(f"the {name} {KIND_WORDS[model_kind(model)]} does not take {', '.join(unknown)}; "
                           f"it takes {', '.join(sorted(accepted))}")
    return cls(model, **params)


def skip_reason(name: str, model: Any) -> str | None:
    """Why explainer ``name`` does not apply to ``model`` (None when it does)."""
    return explainer_class(name).skip_reason(model)


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


def route_params(methods: Sequence[str], params: dict[str, Any], kind: str = "text") -> dict[str, dict[str, Any]]:
    """Per method, its parameters: flat ones it accepts, then its own dict (see module docstring).

    Raises:
        ExplainError: a flat parameter no explainer of ``kind`` takes, or a method's entry that is not a dict.
    """
    available = explainers_for(kind)
    flat = {k: v for k, v in params.items() if k not in EXPLAINERS}
    known = set().union(*(parameter_names(name) for name in available))
    unknown = sorted(set(flat) - known)
    if unknown:
        raise ExplainError(f"no {KIND_WORDS[kind]} takes {', '.join(unknown)}; the parameters are "
                           f"{', '.join(sorted(known))}")
    routed = {}
    for name in methods:
        own = params.get(name, {})
        if not isinstance(own, dict):
            raise ExplainError(f"parameters for {name} must be a dict, got {type(own).__name__}")
        accepted = parameter_names(name)
        routed[name] = {**{k: v for k, v in flat.items() if k in accepted}, **own}
    return routed


def check_methods(methods: Sequence[str], kind: str) -> list[str]:
    """De-duplicated ``methods``, each a registered explainer of ``kind`` (ExplainError otherwise)."""
    methods = [methods] if isinstance(methods, str) else list(dict.fromkeys(methods))
    if not methods:
        raise ExplainError(f"no method given; choose from {', '.join(explainers_for(kind))}")
    for name in methods:
        explainer_class(name, kind)
    return methods


def provide_likelihood(name: str, params: dict[str, Any], likelihood: LikelihoodModel | None) -> dict[str, Any]:
    """``params`` with ``likelihood`` added for an explainer that declares ``needs_likelihood`` and has none."""
    if not explainer_class(name).needs_likelihood or "likelihood" in params:
        return params
    return {**params, "likelihood": likelihood if likelihood is not None else default_likelihood()}


def explain(model: Any, text: str, methods: Sequence[str] = DEFAULT_METHODS, target: int | None = None,
            likelihood: LikelihoodModel | None = None, text_b: str | None = None, on_progress: ProgressLike = None,
            **params: Any) -> ExplainRun:
    """Explain ``text`` (with ``text_b``, a pair) with each of ``methods``; those that do not apply are skipped.

    Args:
        model: the model to explain (a sentence-pair model needs ``text_b``).
        text: raw text (the first text of a pair).
        methods: explainer names (see :func:`explainers_for`); a single name is one method.
        target: class index to explain (default: each method explains the predicted class).
        likelihood: for explainers that declare ``needs_likelihood`` (``marginal``); default the
            shipped MLM (:func:`default_likelihood`).
        text_b: the second text, for a sentence-pair model.
        on_progress: told ``(done, total, stage)`` before each method (``stage`` = its name, ``done``
            the methods finished) and after it (``done`` counts it), or a
            :class:`core.progress.Progress` (one unit per method; skipped methods are untimed).
            Its cancel points are between methods and, inside one, each of the method's
            forward chunks (:func:`core.progress.heartbeat`): what it raises (a cancelled token's
            :class:`~core.progress.Cancelled`) propagates and the finished methods are lost.
        **params: explainer parameters, routed as the module docstring says.

    Returns:
        An :class:`ExplainRun` (explanations in method order; ``skipped`` name -> reason).

    Raises:
        ExplainError: no method, unknown method, bad parameter, empty text, a pair model without
            ``text_b`` (or a single-text one with it), target out of range, or no likelihood model.
        core.progress.Cancelled: the ``on_progress`` tracker's token was cancelled.
    """
    kind = model_kind(model)
    if kind == "pair" and text_b is None:
        raise ExplainError(f"{model.name or 'this model'} is a sentence-pair model: explain two texts with "
                           "core.explain.registry.explain_pair (CLI: --text-b; app: Sentence pairs page)")
    if kind == "text" and text_b is not None:
        raise ExplainError(f"{model.name or 'this model'} reads one text; give a sentence-pair model or "
                           "explain a single text")
    methods = check_methods(methods, kind)
    routed = route_params(methods, params, kind)
    run, tracker = ExplainRun(), as_progress(on_progress, len(methods))
    for name in methods:
        tracker.set_stage(name)
        reason = skip_reason(name, model)
        if reason:
            run.skipped[name] = reason
            tracker.skip(1)
            continue
        explainer = get_explainer(name, model, **provide_likelihood(name, routed[name], likelihood))
        with tracker.running():  # the explainer's batch loops beat it: cancel points inside the method
            run.explanations.append(explainer.explain(text, text_b, target=target))
        tracker.advance(1)
    return run


def explain_pair(model: Any, text_a: str, text_b: str, methods: Sequence[str] = DEFAULT_PAIR_METHODS,
                 target: int | None = None, **params: Any) -> ExplainRun:
    """Explain a pair prediction with each of ``methods``: :func:`explain` with ``text_b``, pair defaults.

    Returns:
        An :class:`ExplainRun` of :class:`~core.explain.base.PairExplanation`.

    Raises:
        ExplainError: a single-text model, no method, an unknown method or parameter, an empty text,
            a bad target.
    """
    if model_kind(model) != "pair":
        raise ExplainError(f"{model.name or 'this model'} reads one text; give a sentence-pair model "
                           "(pair: true in `python -m core.models list`) or explain a single text")
    return explain(model, text_a, methods, target, text_b=text_b, **params)


def seconds_per_pass(features: Any, rows: int = 64, repeats: int = 2) -> float:
    """Seconds one classifier pass (one input row) of ``features``' model takes, timed on ``rows`` copies.

    The fastest of ``repeats`` timings after a warm-up, divided by ``rows``: a batched pass's cost
    per row, what a long explainer pays (its variants go through the model in batches).
    """
    import time

    import torch

    keep = torch.ones(rows, features.n_words, device=features.model.device)
    best = float("inf")
    with torch.inference_mode():
        features.target_probs(keep[:1], 0, 1)
        for _ in range(repeats):
            started = time.perf_counter()
            features.target_probs(keep, 0, rows)
            best = min(best, time.perf_counter() - started)
    return best / rows


def estimate_seconds(model: Any, text: str, methods: Sequence[str] = DEFAULT_METHODS,
                     likelihood: LikelihoodModel | None = None, text_b: str | None = None,
                     **params: Any) -> dict[str, float | None]:
    """Expected seconds of each applicable method on this input, before running it (None: cannot say).

    Each explainer's :meth:`~core.explain.base.Explainer.expected_passes` (classifier rows it will
    send; input marginalization asks its likelihood model for the candidates, one MLM pass) times
    :func:`seconds_per_pass` measured now on this machine. Skipped methods are left out. An
    estimate, not a promise: it ignores everything but the classifier passes.

    Raises:
        ExplainError: as :func:`explain` for a bad input, method or parameter.
    """
    from core.explain.features import encode_features

    methods = check_methods(methods, model_kind(model))
    routed = route_params(methods, params, model_kind(model))
    from core.explain.features import explain_batch_size

    features = encode_features(model, text, text_b)
    per_pass = seconds_per_pass(features, min(explain_batch_size(model), 64))
    estimates: dict[str, float | None] = {}
    for name in methods:
        if skip_reason(name, model):
            continue
        explainer = get_explainer(name, model, **provide_likelihood(name, routed[name], likelihood))
        passes = explainer.expected_passes(features)
        estimates[name] = None if passes is None else passes * per_pass
    return estimates
