"""What the single-text and the pair evaluation runners share: metric settings and their store keys,
the example sample, the explainers' store keys and filling their explanations, the empty record and
computing one metric.

The metric facts live in :mod:`core.evaluation.metric_specs` (one registered spec per metric);
the names, tables and functions here are views and thin wrappers of that registry.

:mod:`core.evaluation.runner` (single texts) and :mod:`core.evaluation.pairs` both import this
module, and neither imports the other's internals.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from core.evaluation.metric_specs import MetricNames, SpecTable, metric_spec

METRICS = MetricNames(lambda spec: spec.applies_to_texts)
"""The metrics of single-text models (a live view of :data:`~core.evaluation.metric_specs.METRIC_SPECS`)."""
METRIC_LABELS = SpecTable(lambda spec: spec.label)
HIGHER_IS_BETTER = SpecTable(lambda spec: spec.higher_is_better)
DELETION_LABELS = {"remove": "remove the word (papers)", "zero": "zero embedding", "unk": "unknown word",
                   "mlm": "MLM sample", "pad": "pad id in place (GMASK code; pairs)"}
METRIC_PARAMS = SpecTable(lambda spec: spec.default_params())
"""Each metric's default settings (``auc_rep`` and ``mlm`` deletion add the seed per run)."""
FLUSH_EVERY = 25


def sample_ids(ids: Sequence[str], n: int, seed: int) -> list[str]:
    """``min(n, len(ids))`` ids drawn without replacement by a numpy Generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(ids), size=min(n, len(ids)), replace=False)
    return [ids[int(i)] for i in picked]


def metric_params(metric: str, seed: int, operation: str = "remove", aopc_k: int = 10, ranking: str = "signed",
                  unit: str = "probability", evaluator: str | None = None) -> dict[str, Any]:
    """The JSON-ready settings of one metric (part of its store key): :meth:`MetricSpec.settings`.

    ``operation`` applies to ``aopc`` and ``degradation``; under ``mlm`` (and for ``auc_rep``) the
    settings also hold the seed of the sampled replacements and the LM's name. ``ranking``
    (``magnitude``), ``unit`` (``accuracy``, for ``aopc`` and ``posthoc``) and ``evaluator`` (the
    scoring model's weights fingerprint) enter the key only when they are not the default, so the
    keys of earlier results are unchanged.
    """
    return metric_spec(metric).settings(seed, operation, aopc_k, ranking, unit, evaluator)


def explainer_params(name: str, seed: int, overrides: dict[str, Any] | None = None,
                     model: Any = None) -> dict[str, Any]:
    """The JSON-ready parameters that identify an explainer's results (the store key), for texts and pairs.

    The seed is included only for stochastic explainers; an explainer that declares
    ``needs_likelihood`` (``marginal``) names its likelihood, the shipped MLM (``"mlm"``). With
    ``model``, the explainer's :meth:`~core.explain.base.Explainer.key_params` adds what resolves
    per model or per algorithm version (marginalization's budget on a transformer; LIME's version).
    """
    from core.explain.registry import explainer_class

    params: dict[str, Any] = {} if explainer_class(name).deterministic else {"seed": int(seed)}
    if explainer_class(name).needs_likelihood:
        params["likelihood"] = "mlm"
    params.update(overrides or {})
    return params if model is None else explainer_class(name).key_params(model, params, int(seed))


def fill_explanations(store, model: Any, name: str, key_params: dict[str, Any], ids: Sequence[str],
                      inputs_of: dict[str, str | tuple[str, str]], get_likelihood: Callable[[], Any] | None = None,
                      flush_every: int = FLUSH_EVERY, on_stored: Callable[[int], None] | None = None,
                      on_cached: Callable[[int], None] | None = None, engine: Any = None,
                      model_source: str | None = None, on_shard: Callable[[int, int], None] | None = None):
    """Explain the ``ids`` the store lacks for (model, explainer ``name``, ``key_params``); returns
    (the :class:`~core.evaluation.store.ExplanationFile`, how many were explained now).

    ``inputs_of[id]`` is the text, or the (text A, text B) pair of a sentence-pair model.
    ``get_likelihood()`` gives the likelihood model of explainers that declare ``needs_likelihood``
    (called only when needed); ``on_stored(count)`` is told of each new explanation as it is
    stored (count 1) and, unless ``on_cached`` is given, of the ids already stored, at once;
    ``on_cached(count)`` gets that first report instead (so a progress estimate can leave them
    out of its timing). Either may raise to stop between explanations: what was explained is
    written to the store on the way out. ``engine`` computes them
    (:mod:`core.evaluation.engines`: this process by default, or a :class:`RayEngine`, whose
    workers load ``model_source``, the name or path the model was loaded from, and which reports
    each finished shard to ``on_shard(done, total)``).
    """
    from core.evaluation.engines import LocalEngine
    from core.explain.registry import explainer_class, get_explainer

    file = store.explanations(model.config["weights_sha256"], name, key_params, model_name=model.name)
    missing = [i for i in ids if not file.has(i)]
    report = on_stored or (lambda count: None)
    (on_cached or report)(len(ids) - len(missing))
    if not missing:
        return file, 0
    ctor = {k: v for k, v in key_params.items() if k not in ("likelihood", "version")}

    def make_explainer():
        options = dict(ctor)
        if explainer_class(name).needs_likelihood:
            options["likelihood"] = get_likelihood()
        return get_explainer(name, model, **options)

    engine = engine if engine is not None else LocalEngine()
    explained = engine.fill(file, model, model_source or str(model.path or model.name), name, ctor, make_explainer,
                            missing, inputs_of, flush_every, lambda: report(1), on_shard)
    return file, explained


def empty_record(explainer: str, params: dict[str, Any], model_name: str, skipped: str | None) -> dict[str, Any]:
    """The record :func:`evaluate` fills for one explainer (see its Returns), before any work."""
    return {"explainer": explainer, "params": params, "n": 0, "metrics": {}, "seconds": 0.0, "model": model_name,
            "skipped": skipped, "errors": {}, "explained": 0, "timing": {}}


def compute_metric(metric: str, scorer, examples, params: dict[str, Any], likelihood, unk_token: str,
                   labels: Sequence[int] | None = None) -> dict[str, Any]:
    """The JSON-ready result of one metric (posthoc keys are strings here, as in JSON): its spec's ``compute``."""
    return metric_spec(metric).compute(scorer, examples, params, likelihood, unk_token, labels)


def public_result(metric: str, result: dict[str, Any]) -> dict[str, Any]:
    """A stored result as the runners return it (post-hoc keys back to integers): its spec's ``public``."""
    return metric_spec(metric).public(result)
