"""Evaluate explainers on a model's test set with the faithfulness metrics, resumably.

:func:`evaluate` samples ``n`` test examples (seeded), explains each with each explainer
(explanations are kept in an :class:`~core.evaluation.store.EvaluationStore`, so a second
run, or a run after a crash, explains only what is missing) and computes each metric on the
explainers' rankings with :func:`core.metrics.model_scorer` (metric results are cached too).

Metric settings (fixed; part of the cache key):

- ``aopc``: K = 10, words removed (GMASK eq. 9);
- ``posthoc``: k = 1..10, only the top-k words kept. The VMASK paper ranks words by the
  model's *global* importance for this metric; here each explainer's *per-example* ranking
  is used, so that every explainer is scored the same way;
- ``degradation``: rho = 0, 0.1, ..., 1, words removed (GMASK eq. 10-11);
- ``auc_rep``: the shipped MLM (``load_likelihood("mlm")``, loaded once) proposes the
  replacements, up to 20% of the words, sampled with ``seed``.

Examples an explainer cannot explain (e.g. no word the model knows) are recorded as errors
and left out of that explainer's metrics.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from core.evaluation.store import EvaluationStore

EXPLAINER_NAMES = ("vmask", "zero", "marginal", "lime")
METRICS = ("aopc", "posthoc", "degradation", "auc_rep")
METRIC_PARAMS: dict[str, dict[str, Any]] = {
    "aopc": {"k_max": 10, "operation": "remove"},
    "posthoc": {"k_values": list(range(1, 11))},
    "degradation": {"fractions": [round(x, 2) for x in np.linspace(0, 1, 11)], "operation": "remove"},
    "auc_rep": {"max_fraction": 0.2, "likelihood": "mlm"},  # + the seed, added per run
}
FLUSH_EVERY = 25


def check_arguments(explainers: Sequence[str], metrics: Sequence[str], n: int) -> tuple[list[str], list[str]]:
    """Validated, de-duplicated explainer and metric names.

    Raises:
        ValueError: an unknown explainer or metric, none given, or ``n`` < 1.
    """
    from core.explain.registry import explainer_class

    explainers = list(dict.fromkeys(e.strip() for e in explainers if e.strip()))
    metrics = list(dict.fromkeys(m.strip() for m in metrics if m.strip()))
    if not explainers:
        raise ValueError("no explainer given")
    if not metrics:
        raise ValueError("no metric given")
    for name in explainers:
        explainer_class(name)  # ExplainError (a ValueError) listing the names
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric {', '.join(map(repr, unknown))}; choose from {', '.join(METRICS)}")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return explainers, metrics


def sample_ids(ids: Sequence[str], n: int, seed: int) -> list[str]:
    """``min(n, len(ids))`` ids drawn without replacement by a numpy Generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(ids), size=min(n, len(ids)), replace=False)
    return [ids[int(i)] for i in picked]


def explainer_params(name: str, seed: int, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-ready parameters that identify an explainer's results (the store key).

    The seed is included only for stochastic explainers; ``marginal`` names its likelihood (``"mlm"``).
    """
    from core.explain.registry import explainer_class

    params: dict[str, Any] = {} if explainer_class(name).deterministic else {"seed": int(seed)}
    if name == "marginal":
        params["likelihood"] = "mlm"
    params.update(overrides or {})
    return params


def _ranking(explanation: dict) -> list[int]:
    scores = explanation["scores"]
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def _compute_metric(metric: str, scorer, examples, params: dict[str, Any], likelihood) -> dict[str, Any]:
    """The JSON-ready result of one metric (posthoc keys are strings here, as in JSON)."""
    from core.metrics import aopc, auc_rep, degradation, posthoc_accuracy

    if metric == "aopc":
        result = aopc(scorer, examples, k_max=params["k_max"], operation=params["operation"])
        return {"value": result.value, "per_k": result.per_k}
    if metric == "posthoc":
        return {str(k): v for k, v in posthoc_accuracy(scorer, examples, params["k_values"]).items()}
    if metric == "degradation":
        result = degradation(scorer, examples, params["fractions"], operation=params["operation"])
        return {"score": result.score, "fractions": [float(x) for x in result.fractions],
                "morf": [float(x) for x in result.morf], "lerf": [float(x) for x in result.lerf]}
    if metric == "auc_rep":
        result = auc_rep(scorer, likelihood, examples, max_fraction=params["max_fraction"], seed=params["seed"])
        return {"value": result.value}
    raise ValueError(f"unknown metric {metric!r}")


def _public(metric: str, result: dict[str, Any]) -> dict[str, Any]:
    if metric == "posthoc":
        return {int(k): float(v) for k, v in result.items()}
    return result


def evaluate(model_name: str, explainers: Sequence[str] = EXPLAINER_NAMES, metrics: Sequence[str] = METRICS,
             n: int = 500, seed: int = 0, device: str = "auto", progress: bool = True,
             store: EvaluationStore | None = None, params: dict[str, dict[str, Any]] | None = None,
             flush_every: int = FLUSH_EVERY, likelihood: Any | None = None) -> list[dict[str, Any]]:
    """Explain ``n`` seeded test examples with each explainer and score the explanations.

    Args:
        model_name: registry name or checkpoint directory.
        explainers: explainer names (those that do not apply to the model are skipped, with the reason).
        metrics: among ``aopc``, ``posthoc``, ``degradation``, ``auc_rep``.
        n: examples sampled from the model's dataset's test split (all of them when it is smaller).
        seed: seed of the sample, of stochastic explainers and of ``auc_rep``'s replacements.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        progress: show a tqdm bar over (explainer, example).
        store: where explanations and metric results are kept; default ``$MASKLENS_HOME/evaluations``.
        params: optional extra constructor parameters per explainer (``{"lime": {"n_samples": 200}}``).
        flush_every: explanations computed between two atomic writes of the store file.
        likelihood: an already loaded shipped MLM (``load_likelihood("mlm")``) for ``marginal`` and
            ``auc_rep``; default: loaded once, when first needed. Not part of the store key, so pass
            only the shipped MLM.

    Returns:
        One record per explainer: ``{"explainer", "params", "n", "metrics", "seconds", "model",
        "skipped", "errors", "explained", "timing"}``; ``metrics`` maps ``aopc`` to
        ``{"value", "per_k"}``, ``posthoc`` to ``{k: accuracy}``, ``degradation`` to
        ``{"score", "fractions", "morf", "lerf"}`` and ``auc_rep`` to ``{"value"}``. ``n`` counts
        the examples scored; ``errors`` maps unexplainable example ids to the reason; ``explained``
        counts explanations computed by this call (0 when all came from the store); ``timing``
        gives seconds spent explaining and per metric in this call; ``skipped`` is the reason the
        explainer does not apply (then ``metrics`` is empty), else None.

    Raises:
        ValueError: bad arguments (unknown explainer or metric, ``n`` < 1); load errors of the model.
    """
    from tqdm.auto import tqdm

    from core.data.datasets import load_dataset
    from core.explain.base import ExplainError
    from core.explain.registry import get_explainer, skip_reason
    from core.metrics import model_scorer
    from core.models import load_model

    explainers, metrics = check_arguments(explainers, metrics, n)
    params = params or {}
    store = store if store is not None else EvaluationStore()
    model = load_model(model_name, device=device)
    fingerprint = model.config["weights_sha256"]
    test = load_dataset(model.config["dataset"]).test
    ids = sample_ids(list(test.ids), n, seed)
    text_of = dict(zip(test.ids, test.texts))
    scorer = model_scorer(model)
    likelihood_cache: dict[str, Any] = {} if likelihood is None else {"mlm": likelihood}

    def get_likelihood():
        if "mlm" not in likelihood_cache:
            from core.lm.mlm import load_likelihood

            likelihood_cache["mlm"] = load_likelihood("mlm", device=device)
        return likelihood_cache["mlm"]

    reasons = {name: skip_reason(name, model) for name in explainers}
    applicable = [name for name in explainers if not reasons[name]]
    records = []
    bar = tqdm(total=len(applicable) * len(ids), disable=not progress, desc="evaluate", unit="example")
    try:
        for name in explainers:
            key_params = explainer_params(name, seed, params.get(name))
            record: dict[str, Any] = {"explainer": name, "params": key_params, "n": 0, "metrics": {},
                                      "seconds": 0.0, "model": model.name, "skipped": reasons[name], "errors": {},
                                      "explained": 0, "timing": {}}
            records.append(record)
            if reasons[name]:
                continue
            started = time.perf_counter()
            file = store.explanations(fingerprint, name, key_params, model_name=model.name)
            missing = [i for i in ids if not file.has(i)]
            bar.update(len(ids) - len(missing))
            if missing:
                ctor = {k: v for k, v in key_params.items() if k != "likelihood"}
                if name == "marginal":
                    ctor["likelihood"] = get_likelihood()
                explainer = get_explainer(name, model, **ctor)
                bar.set_postfix_str(name)
                try:
                    for example_id in missing:
                        try:
                            file.add(example_id, explainer.explain(text_of[example_id]).to_dict())
                        except ExplainError as error:
                            file.add_error(example_id, str(error))
                        record["explained"] += 1
                        bar.update(1)
                        if file.dirty >= flush_every:
                            file.flush()
                finally:
                    file.flush()  # a crash or Ctrl-C keeps everything explained so far
            record["timing"]["explain"] = time.perf_counter() - started
            used = [i for i in ids if file.get(i) is not None]
            record["errors"] = {i: file.error(i) for i in ids if file.error(i) is not None}
            record["n"] = len(used)
            examples = [(list(file.get(i)["words"]), _ranking(file.get(i))) for i in used]
            for metric in metrics:
                metric_started = time.perf_counter()
                metric_params = dict(METRIC_PARAMS[metric])
                if metric == "auc_rep":
                    metric_params["seed"] = int(seed)
                if not examples:
                    continue
                key = store.metric_key(fingerprint, name, key_params, metric, metric_params, used)
                result = store.get_metric(key)
                if result is None:
                    result = _compute_metric(metric, scorer, examples, metric_params,
                                             get_likelihood() if metric == "auc_rep" else None)
                    store.put_metric(key, result)
                record["metrics"][metric] = _public(metric, result)
                record["timing"][metric] = time.perf_counter() - metric_started
            record["seconds"] = time.perf_counter() - started
    finally:
        bar.close()
    return records
