"""The faithfulness metrics of the evaluation runners, one registered :class:`MetricSpec` each.

A spec holds everything the runners, the store and the pages need to know about a metric: its
label and direction, whether it applies to single texts and to sentence pairs, its default
settings and which run settings enter its store key (:meth:`MetricSpec.settings`), whether it
needs the masked LM (:meth:`MetricSpec.needs_likelihood`), how it is computed from a scorer and
``(words, ranking)`` examples (``compute``, JSON-ready) and how a stored result is returned
(``public``). The built-in specs call :mod:`core.metrics`: ``aopc``, ``posthoc``, ``degradation``,
``auc_rep``, ``comprehensiveness`` and ``sufficiency`` (ERASER), in that order in :data:`METRIC_SPECS`.

Pair models use the same specs: their examples are tagged ``(side, word)`` lists scored by
:func:`core.metrics.pairs.pair_scorer`, and the pair runner passes the deletion that carries its
operation (:func:`core.metrics.pairs.metric_operation`, ``pad`` -> ``zero``) to ``compute``.

:func:`register_metric` adds a metric; :class:`MetricNames` and :class:`SpecTable` are live views
of the registry (``core.evaluation.common.METRICS``, ``METRIC_LABELS`` and friends).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

SETTINGS = frozenset({"operation", "k", "unit", "ranking", "evaluator", "seed"})
"""The run settings a spec can take into its store key: the deletion ``operation`` (under ``mlm``
also the LM and the seed), AOPC's ``k`` (stored as ``k_max``), the ``unit`` (when not
``probability``), the ``ranking`` (when not ``signed``), the ``evaluator`` (when given) and the
``seed`` (always)."""

Compute = Callable[..., dict[str, Any]]
"""``compute(scorer, examples, settings, likelihood, unk_token, labels) -> JSON-ready result``."""


def stored_as_is(result: dict[str, Any]) -> dict[str, Any]:
    """The default ``public``: a stored result is returned unchanged."""
    return result


@dataclass(frozen=True, eq=False)
class MetricSpec:
    """One faithfulness metric (see the module docstring).

    Attributes:
        name: the metric's name (the store key's ``metric``, the CLI's ``--metrics``).
        label: a human-readable name for the pages.
        higher_is_better: the metric's direction.
        compute: ``(scorer, examples, settings, likelihood, unk_token, labels) -> result``: scorer
            word lists -> probabilities [N, C]; M ``(words, ranking)`` examples; the settings of
            :meth:`settings`; the masked LM (None unless :meth:`needs_likelihood`); the unknown word
            of ``unk`` deletion; [M] gold labels (for unit ``accuracy``). The result is JSON-ready.
        defaults: the settings every run of the metric has (copied, never shared).
        takes: which of :data:`SETTINGS` enter the settings.
        applies_to_texts, applies_to_pairs: which runners compute it (the others skip it).
        public: a stored (JSON) result -> the result the runners return.
    """

    name: str
    label: str
    higher_is_better: bool
    compute: Compute
    defaults: Mapping[str, Any] = field(default_factory=dict)
    takes: frozenset[str] = frozenset({"ranking", "evaluator"})
    applies_to_texts: bool = True
    applies_to_pairs: bool = True
    public: Callable[[dict[str, Any]], dict[str, Any]] = stored_as_is

    def __post_init__(self) -> None:
        unknown = set(self.takes) - SETTINGS
        if unknown:
            raise ValueError(f"metric {self.name!r} takes unknown settings {sorted(unknown)}; "
                             f"choose from {', '.join(sorted(SETTINGS))}")
        object.__setattr__(self, "takes", frozenset(self.takes))
        object.__setattr__(self, "defaults", MappingProxyType(copy.deepcopy(dict(self.defaults))))

    def default_params(self) -> dict[str, Any]:
        """A fresh (deep) copy of :attr:`defaults`."""
        return copy.deepcopy(dict(self.defaults))

    def settings(self, seed: int, operation: str = "remove", aopc_k: int = 10, ranking: str = "signed",
                 unit: str = "probability", evaluator: str | None = None) -> dict[str, Any]:
        """The JSON-ready settings of one run of the metric (part of its store key).

        :attr:`defaults`, then the run settings the spec :attr:`takes` (see :data:`SETTINGS`): the
        ones with a default value (``signed``, ``probability``, no evaluator) are left out, so the
        keys of earlier results are unchanged. ``evaluator`` is the scoring model's weights fingerprint.
        """
        params = self.default_params()
        if ranking != "signed" and "ranking" in self.takes:
            params["ranking"] = ranking
        if unit != "probability" and "unit" in self.takes:
            params["unit"] = unit
        if evaluator is not None and "evaluator" in self.takes:
            params["evaluator"] = evaluator
        if "operation" in self.takes:
            params["operation"] = operation
            if operation == "mlm":
                params.update(likelihood="mlm", seed=int(seed))
        if "k" in self.takes:
            params["k_max"] = int(aopc_k)
        if "seed" in self.takes:
            params["seed"] = int(seed)
        return params

    def needs_likelihood(self, settings: Mapping[str, Any]) -> bool:
        """True when a run with ``settings`` (of :meth:`settings`) needs the masked LM: they name one."""
        return "likelihood" in settings


# ---------------------------------------------------------------------------------------------- built-in computes

def deletion_arguments(settings: Mapping[str, Any], likelihood, unk_token: str) -> dict[str, Any]:
    """The deletion keywords of :func:`core.metrics.aopc`, :func:`core.metrics.degradation` and the ERASER
    metrics from settings."""
    return {"operation": settings.get("operation", "remove"), "unk_token": unk_token, "likelihood": likelihood,
            "seed": settings.get("seed", 0)}


def unit_arguments(settings: Mapping[str, Any], labels: Sequence[int] | None) -> dict[str, Any]:
    """The ``unit`` and ``labels`` keywords of :func:`core.metrics.aopc` and :func:`core.metrics.posthoc_accuracy`."""
    return {"unit": settings.get("unit", "probability"), "labels": labels}


def compute_aopc(scorer, examples, settings, likelihood, unk_token: str, labels=None) -> dict[str, Any]:
    """``{"value", "per_k" [K], "k_max"}`` of :func:`core.metrics.aopc` (probability or accuracy drops)."""
    from core.metrics import aopc

    result = aopc(scorer, examples, k_max=settings["k_max"], **deletion_arguments(settings, likelihood, unk_token),
                  **unit_arguments(settings, labels))
    return {"value": result.value, "per_k": result.per_k, "k_max": result.k_max}


def compute_posthoc(scorer, examples, settings, likelihood, unk_token: str, labels=None) -> dict[str, float]:
    """``{"k": accuracy in [0, 1]}`` of :func:`core.metrics.posthoc_accuracy` (string keys, as in JSON)."""
    from core.metrics import posthoc_accuracy

    accuracies = posthoc_accuracy(scorer, examples, settings["k_values"], **unit_arguments(settings, labels))
    return {str(k): v for k, v in accuracies.items()}


def posthoc_public(result: dict[str, Any]) -> dict[int, float]:
    """A stored post-hoc result with its keys back to integers: ``{k: accuracy}``."""
    return {int(k): float(v) for k, v in result.items()}


def compute_degradation(scorer, examples, settings, likelihood, unk_token: str, labels=None) -> dict[str, Any]:
    """``{"score", "fractions" [F], "morf" [F], "lerf" [F]}`` of :func:`core.metrics.degradation`."""
    from core.metrics import degradation

    result = degradation(scorer, examples, settings["fractions"], **deletion_arguments(settings, likelihood, unk_token))
    return {"score": result.score, "fractions": [float(x) for x in result.fractions],
            "morf": [float(x) for x in result.morf], "lerf": [float(x) for x in result.lerf]}


def compute_auc_rep(scorer, examples, settings, likelihood, unk_token: str, labels=None) -> dict[str, Any]:
    """``{"value", "fractions" [G], "mean_curve" [G]}`` of :func:`core.metrics.auc_rep`, G = ``curve_points``
    replaced fractions from 0 to ``max_fraction`` (the mean p(y|x_r) over examples)."""
    from core.metrics import auc_rep

    result = auc_rep(scorer, likelihood, examples, max_fraction=settings["max_fraction"], seed=settings["seed"])
    grid = np.linspace(0, settings["max_fraction"], settings["curve_points"])
    return {"value": result.value, "fractions": grid.tolist(), "mean_curve": result.mean_curve(grid).tolist()}


def eraser_result(name: str, scorer, examples, settings, likelihood, unk_token: str) -> dict[str, Any]:
    """``{"value", "thresholds" [T], "per_threshold" [T]}`` of ``core.metrics.<name>`` (``comprehensiveness``
    or ``sufficiency``): the thresholds as fractions of the words, the values in probability units."""
    import core.metrics

    result = getattr(core.metrics, name)(scorer, examples, settings["thresholds"],
                                         **deletion_arguments(settings, likelihood, unk_token))
    return {"value": result.value, "thresholds": result.thresholds, "per_threshold": result.per_threshold}


def compute_comprehensiveness(scorer, examples, settings, likelihood, unk_token: str, labels=None) -> dict[str, Any]:
    """ERASER comprehensiveness (:func:`core.metrics.comprehensiveness`; see :func:`eraser_result`)."""
    return eraser_result("comprehensiveness", scorer, examples, settings, likelihood, unk_token)


def compute_sufficiency(scorer, examples, settings, likelihood, unk_token: str, labels=None) -> dict[str, Any]:
    """ERASER sufficiency (:func:`core.metrics.sufficiency`; see :func:`eraser_result`)."""
    return eraser_result("sufficiency", scorer, examples, settings, likelihood, unk_token)


# ---------------------------------------------------------------------------------------------- registry

METRIC_SPECS: dict[str, MetricSpec] = {}
"""The registered metrics by name, in registration order."""


def register_metric(spec: MetricSpec, replace: bool = False) -> MetricSpec:
    """Add ``spec`` to :data:`METRIC_SPECS` (last) and return it; ValueError when the name is taken
    (unless ``replace``, which keeps the name's place)."""
    if spec.name in METRIC_SPECS and not replace:
        raise ValueError(f"metric {spec.name!r} is already registered")
    METRIC_SPECS[spec.name] = spec
    return spec


def unregister_metric(name: str) -> MetricSpec:
    """Remove the metric ``name`` from :data:`METRIC_SPECS`; returns its spec (ValueError when unknown)."""
    spec = metric_spec(name)
    del METRIC_SPECS[name]
    return spec


def metric_spec(name: str) -> MetricSpec:
    """The registered spec of ``name``; ValueError listing the names when there is none."""
    try:
        return METRIC_SPECS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown metric {name!r}; choose from {', '.join(METRIC_SPECS)}") from None


class MetricNames(Sequence[str]):
    """The names of the registered specs for which ``where(spec)`` is true, in registration order, read live."""

    def __init__(self, where: Callable[[MetricSpec], bool] = lambda spec: True):
        self.where = where

    def names(self) -> tuple[str, ...]:
        """The names now, as a tuple."""
        return tuple(name for name, spec in METRIC_SPECS.items() if self.where(spec))

    def __getitem__(self, index):
        return self.names()[index]

    def __len__(self) -> int:
        return len(self.names())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __add__(self, other: Sequence[str]) -> tuple[str, ...]:
        return self.names() + tuple(other)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (tuple, list, MetricNames)) and self.names() == tuple(other)

    __hash__ = None  # type: ignore[assignment]  # it changes with the registry

    def __repr__(self) -> str:
        return repr(self.names())


class SpecTable(Mapping[str, Any]):
    """``{name: fact(spec)}`` over the registered specs, read live (a KeyError for an unknown name)."""

    def __init__(self, fact: Callable[[MetricSpec], Any]):
        self.fact = fact

    def __getitem__(self, name: str) -> Any:
        return self.fact(METRIC_SPECS[name])

    def __len__(self) -> int:
        return len(METRIC_SPECS)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(METRIC_SPECS))

    def __repr__(self) -> str:
        return repr(dict(self.items()))


AOPC = register_metric(MetricSpec(
    "aopc", "AOPC", True, compute_aopc, {"k_max": 10, "operation": "remove"},
    takes=frozenset({"operation", "k", "unit", "ranking", "evaluator"})))
POSTHOC = register_metric(MetricSpec(
    "posthoc", "post-hoc accuracy", True, compute_posthoc, {"k_values": list(range(1, 11))},
    takes=frozenset({"unit", "ranking", "evaluator"}), public=posthoc_public))
DEGRADATION = register_metric(MetricSpec(
    "degradation", "degradation (MoRF/LeRF)", True, compute_degradation,
    {"fractions": [round(x, 2) for x in np.linspace(0, 1, 11)], "operation": "remove"},
    takes=frozenset({"operation", "ranking", "evaluator"})))
AUC_REP = register_metric(MetricSpec(
    "auc_rep", "AUC_rep (MLM replacement)", False, compute_auc_rep,
    {"max_fraction": 0.2, "likelihood": "mlm", "curve_points": 11},
    takes=frozenset({"seed", "ranking", "evaluator"}), applies_to_pairs=False))  # a masked LM over one text
ERASER_DEFAULTS = {"thresholds": [0.01, 0.05, 0.1, 0.2, 0.5], "operation": "remove"}
"""ERASER's bins (1, 5, 10, 20, 50% of the words, :data:`core.metrics.eraser.THRESHOLDS`) and AOPC's deletion."""
# Single texts for now: a pair's rationale would be drawn from both texts together (untested there).
COMPREHENSIVENESS = register_metric(MetricSpec(
    "comprehensiveness", "comprehensiveness (ERASER)", True, compute_comprehensiveness,
    ERASER_DEFAULTS, takes=frozenset({"operation", "ranking", "evaluator"}), applies_to_pairs=False))
SUFFICIENCY = register_metric(MetricSpec(
    "sufficiency", "sufficiency (ERASER)", False, compute_sufficiency,
    ERASER_DEFAULTS, takes=frozenset({"operation", "ranking", "evaluator"}), applies_to_pairs=False))
