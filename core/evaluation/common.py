"""What the single-text and the pair evaluation runners share: metric settings and their store keys,
the example sample, the empty record and computing one metric.

:mod:`core.evaluation.runner` (single texts) and :mod:`core.evaluation.pairs` both import this
module, and neither imports the other's internals.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

METRICS = ("aopc", "posthoc", "degradation", "auc_rep")
METRIC_LABELS = {"aopc": "AOPC", "posthoc": "post-hoc accuracy", "degradation": "degradation (MoRF/LeRF)",
                 "auc_rep": "AUC_rep (MLM replacement)"}
HIGHER_IS_BETTER = {"aopc": True, "posthoc": True, "degradation": True, "auc_rep": False}
DELETION_LABELS = {"remove": "remove the word (papers)", "zero": "zero embedding", "unk": "unknown word",
                   "mlm": "MLM sample", "pad": "pad id in place (GMASK code; pairs)"}
METRIC_PARAMS: dict[str, dict[str, Any]] = {
    "aopc": {"k_max": 10, "operation": "remove"},
    "posthoc": {"k_values": list(range(1, 11))},
    "degradation": {"fractions": [round(x, 2) for x in np.linspace(0, 1, 11)], "operation": "remove"},
    "auc_rep": {"max_fraction": 0.2, "likelihood": "mlm", "curve_points": 11},  # + the seed, added per run
}
FLUSH_EVERY = 25


def sample_ids(ids: Sequence[str], n: int, seed: int) -> list[str]:
    """``min(n, len(ids))`` ids drawn without replacement by a numpy Generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(ids), size=min(n, len(ids)), replace=False)
    return [ids[int(i)] for i in picked]


def metric_params(metric: str, seed: int, operation: str = "remove", aopc_k: int = 10, ranking: str = "signed",
                  unit: str = "probability", evaluator: str | None = None) -> dict[str, Any]:
    """The JSON-ready settings of one metric (part of its store key).

    ``operation`` applies to ``aopc`` and ``degradation``; under ``mlm`` (and for ``auc_rep``) the
    settings also hold the seed of the sampled replacements and the LM's name. ``ranking``
    (``magnitude``), ``unit`` (``accuracy``, for ``aopc`` and ``posthoc``) and ``evaluator`` (the
    scoring model's weights fingerprint) enter the key only when they are not the default, so the
    keys of earlier results are unchanged.
    """
    params = dict(METRIC_PARAMS[metric])
    if ranking != "signed":
        params["ranking"] = ranking
    if unit != "probability" and metric in ("aopc", "posthoc"):
        params["unit"] = unit
    if evaluator is not None:
        params["evaluator"] = evaluator
    if metric in ("aopc", "degradation"):
        params["operation"] = operation
        if operation == "mlm":
            params.update(likelihood="mlm", seed=int(seed))
    if metric == "aopc":
        params["k_max"] = int(aopc_k)
    if metric == "auc_rep":
        params["seed"] = int(seed)
    return params


def empty_record(explainer: str, params: dict[str, Any], model_name: str, skipped: str | None) -> dict[str, Any]:
    """The record :func:`evaluate` fills for one explainer (see its Returns), before any work."""
    return {"explainer": explainer, "params": params, "n": 0, "metrics": {}, "seconds": 0.0, "model": model_name,
            "skipped": skipped, "errors": {}, "explained": 0, "timing": {}}


def compute_metric(metric: str, scorer, examples, params: dict[str, Any], likelihood, unk_token: str,
                    labels: Sequence[int] | None = None) -> dict[str, Any]:
    """The JSON-ready result of one metric (posthoc keys are strings here, as in JSON)."""
    from core.metrics import aopc, auc_rep, degradation, posthoc_accuracy

    deletion = {"operation": params.get("operation", "remove"), "unk_token": unk_token, "likelihood": likelihood,
                "seed": params.get("seed", 0)}
    unit = {"unit": params.get("unit", "probability"), "labels": labels}
    if metric == "aopc":
        result = aopc(scorer, examples, k_max=params["k_max"], **deletion, **unit)
        return {"value": result.value, "per_k": result.per_k, "k_max": result.k_max}
    if metric == "posthoc":
        return {str(k): v for k, v in posthoc_accuracy(scorer, examples, params["k_values"], **unit).items()}
    if metric == "degradation":
        result = degradation(scorer, examples, params["fractions"], **deletion)
        return {"score": result.score, "fractions": [float(x) for x in result.fractions],
                "morf": [float(x) for x in result.morf], "lerf": [float(x) for x in result.lerf]}
    if metric == "auc_rep":
        result = auc_rep(scorer, likelihood, examples, max_fraction=params["max_fraction"], seed=params["seed"])
        grid = np.linspace(0, params["max_fraction"], params["curve_points"])
        return {"value": result.value, "fractions": grid.tolist(), "mean_curve": result.mean_curve(grid).tolist()}
    raise ValueError(f"unknown metric {metric!r}")


def public_result(metric: str, result: dict[str, Any]) -> dict[str, Any]:
    """A stored result as the runners return it (post-hoc keys back to integers)."""
    if metric == "posthoc":
        return {int(k): float(v) for k, v in result.items()}
    return result
