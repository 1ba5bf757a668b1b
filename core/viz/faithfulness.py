"""Figures and tables of :func:`core.evaluation.evaluate` records: one fixed colour per explainer.

Every function takes the runner's records (``{"explainer", "n", "metrics", ...}``; skipped
explainers and missing metrics are left out) so a notebook draws what the Faithfulness page draws.
Colours come from :mod:`core.viz.palette` (the same explainer has the same colour on every chart and
in every run). Also here, for the page's table and progress bar: which examples an evaluation
explains (:func:`evaluation_sample`), the seconds their stored explanations took
(:func:`stored_seconds`) and the words of its progress (:class:`ProgressWords`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.viz import palette

SUMMARY_K = (1, 5, 10)
ERASER_METRICS = ("comprehensiveness", "sufficiency")  # a mean over thresholds and a curve per threshold
SECONDS_COLUMN = "s / example"
SECONDS_HELP = ("Seconds one explanation took, the mean over the n examples, as measured when each was computed "
                "(stored with it, so the same when this run served it from the store); metric time not included.")


def explainer_colors(records: Sequence[dict]) -> dict[str, str]:
    """The fixed colour of each record's explainer (:func:`core.viz.palette.explainer_color`)."""
    return palette.explainer_colors(r["explainer"] for r in records)


def _with(records: Sequence[dict], metric: str) -> list[dict]:
    return [r for r in records if not r.get("skipped") and metric in r.get("metrics", {})]


def aopc_curve(per_k: Sequence[float]) -> np.ndarray:
    """AOPC(K) for K = 1..len(per_k): (1/(K+1)) * sum_{k<=K} per_k[k] (GMASK eq. 9), [K_max]."""
    per_k = np.asarray(per_k, dtype=np.float64)
    return np.cumsum(per_k) / (np.arange(1, len(per_k) + 1) + 1)


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, legend_title_text="explainer",
                      margin={"l": 50, "r": 20, "t": 50, "b": 45}, hovermode="x unified")
    return fig


def aopc_figure(records: Sequence[dict]) -> go.Figure:
    """AOPC(K) against K, one line per explainer (higher is better)."""
    colors, fig = explainer_colors(records), go.Figure()
    for r in _with(records, "aopc"):
        curve = aopc_curve(r["metrics"]["aopc"]["per_k"])
        fig.add_trace(go.Scatter(x=list(range(1, len(curve) + 1)), y=curve, mode="lines+markers",
                                 name=r["explainer"], line={"color": colors[r["explainer"]]}))
    return _layout(fig, "AOPC vs k (higher is better)", "k (top words deleted)", "AOPC")


def posthoc_figure(records: Sequence[dict]) -> go.Figure:
    """Post-hoc accuracy against k, one line per explainer (higher is better)."""
    colors, fig = explainer_colors(records), go.Figure()
    for r in _with(records, "posthoc"):
        points = sorted((int(k), float(v)) for k, v in r["metrics"]["posthoc"].items())
        fig.add_trace(go.Scatter(x=[k for k, _ in points], y=[v for _, v in points], mode="lines+markers",
                                 name=r["explainer"], line={"color": colors[r["explainer"]]}))
    fig.update_yaxes(range=[0, 1.02])
    return _layout(fig, "Post-hoc accuracy vs k (higher is better)", "k (top words kept)", "post-hoc accuracy")


def degradation_figure(records: Sequence[dict]) -> go.Figure:
    """MoRF (solid) and LeRF (dashed) curves of the normalised output S per explainer (GMASK Figure 4)."""
    colors, fig = explainer_colors(records), go.Figure()
    for r in _with(records, "degradation"):
        result, color = r["metrics"]["degradation"], colors[r["explainer"]]
        percent = [100 * f for f in result["fractions"]]
        for curve, dash in (("morf", "solid"), ("lerf", "dash")):
            fig.add_trace(go.Scatter(x=percent, y=result[curve], mode="lines", name=f"{r['explainer']} {curve.upper()}",
                                     legendgroup=r["explainer"], line={"color": color, "dash": dash}))
    return _layout(fig, "Degradation test: MoRF (solid) and LeRF (dashed)", "words deleted (%)",
                   "normalised output S")


def auc_rep_figure(records: Sequence[dict]) -> go.Figure:
    """Mean p(y|x) against the share of words replaced by MLM samples, per explainer (lower is better)."""
    colors, fig = explainer_colors(records), go.Figure()
    for r in _with(records, "auc_rep"):
        result = r["metrics"]["auc_rep"]
        if "mean_curve" not in result:
            continue
        fig.add_trace(go.Scatter(x=[100 * f for f in result["fractions"]], y=result["mean_curve"], mode="lines+markers",
                                 name=f"{r['explainer']} (AUC_rep {result['value']:.3f})",
                                 line={"color": colors[r["explainer"]]}))
    return _layout(fig, "AUC_rep curves (lower is better)", "words replaced by the MLM (%)", "mean p(y | x)")


def eraser_figure(records: Sequence[dict], metric: str) -> go.Figure:
    """``metric`` (an ERASER metric) per threshold (% of the words), one line per explainer."""
    from core.evaluation.common import HIGHER_IS_BETTER

    colors, fig = explainer_colors(records), go.Figure()
    for r in _with(records, metric):
        result = r["metrics"][metric]
        fig.add_trace(go.Scatter(x=[100 * t for t in result["thresholds"]], y=result["per_threshold"],
                                 mode="lines+markers", name=f"{r['explainer']} (mean {result['value']:.3f})",
                                 line={"color": colors[r["explainer"]]}))
    direction = "higher" if HIGHER_IS_BETTER[metric] else "lower"
    return _layout(fig, f"{metric.capitalize()} (ERASER) vs threshold ({direction} is better)",
                   "rationale: top words (%)",
                   f"p(y|x) - p(y|{'x without' if direction == 'higher' else 'only'} them)")


def _metric_cells(metric: str, result: Any) -> dict[str, float]:
    """The summary table's cells of one metric's result (AOPC at K, post-hoc accuracy at 1, 5, 10, ...)."""
    if metric == "aopc":
        return {f"AOPC@{result.get('k_max', len(result.get('per_k', [])) or 10)}": result.get("value", np.nan)}
    if metric == "posthoc":
        by_k = {int(k): v for k, v in result.items()}
        return {f"posthoc@{k}": by_k.get(k, np.nan) for k in SUMMARY_K}
    if metric == "degradation":
        return {"degradation": result.get("score", np.nan)}
    if metric == "auc_rep":
        return {"AUC_rep": result.get("value", np.nan)}
    value = result.get("value", np.nan) if isinstance(result, Mapping) else np.nan
    return {metric: value}


def _fallback_seconds(record: dict) -> float:
    """Explaining seconds per example of this call (NaN when it explained nothing)."""
    explained = record.get("explained", 0)
    return record.get("timing", {}).get("explain", np.nan) / explained if explained else np.nan


def summary_table(records: Sequence[dict], metrics: Sequence[str] | None = None,
                  seconds: Mapping[str, float] | None = None, skipped: bool = True) -> pd.DataFrame:
    """One row per explainer: n, a column per computed metric, the seconds per example, and why skipped.

    Metric columns: AOPC (K as run), post-hoc accuracy at k = 1, 5, 10, the degradation score,
    AUC_rep, each ERASER metric's mean over its thresholds (other metrics: their ``value``), in the
    order of ``metrics``; only metrics some record computed get columns, so an unchosen metric, or
    one that does not apply (AUC_rep on a pair model), has none.

    Args:
        records: the runner's records.
        metrics: the metrics to show (default: every metric some record has).
        seconds: explainer -> mean seconds one explanation took (:func:`stored_seconds`), the
            :data:`SECONDS_COLUMN`; an explainer missing there gets this call's explaining seconds
            per explained example (NaN when all came from the store).
        skipped: keep the rows of skipped explainers (and a ``skipped`` column with the reason);
            there is no such column when none was skipped.
    """
    shown = [r for r in records if skipped or not r.get("skipped")]
    names = list(metrics if metrics is not None else dict.fromkeys(m for r in shown for m in r.get("metrics", {})))
    names = [m for m in names if any(m in r.get("metrics", {}) for r in shown)]
    seconds = seconds or {}
    rows = []
    for r in shown:
        row = {"explainer": r["explainer"], "n": r.get("n", 0)}
        for metric in names:
            if metric in r.get("metrics", {}):
                row.update(_metric_cells(metric, r["metrics"][metric]))
        row[SECONDS_COLUMN] = np.nan if r.get("skipped") else seconds.get(r["explainer"], _fallback_seconds(r))
        if any(other.get("skipped") for other in shown):
            row["skipped"] = r.get("skipped") or ""
        rows.append(row)
    table = pd.DataFrame(rows)
    order = [c for c in ["explainer", "n"] if c in table] + [c for c in table if c not in
                                                             ("explainer", "n", SECONDS_COLUMN, "skipped")]
    return table[order + [c for c in (SECONDS_COLUMN, "skipped") if c in table]]


def curve_points(records: Sequence[dict]) -> pd.DataFrame:
    """Every plotted number in long form: explainer, metric, curve, x, y (for a CSV export)."""
    rows = []
    for r in records:
        name, metrics = r["explainer"], r.get("metrics", {})
        if "aopc" in metrics:
            for k, value in enumerate(aopc_curve(metrics["aopc"]["per_k"]), start=1):
                rows.append((name, "aopc", "AOPC(K)", k, float(value)))
            for k, value in enumerate(metrics["aopc"]["per_k"], start=1):
                rows.append((name, "aopc", "probability drop", k, float(value)))
        for k, value in sorted((int(k), v) for k, v in metrics.get("posthoc", {}).items()):
            rows.append((name, "posthoc", "accuracy", k, float(value)))
        if "degradation" in metrics:
            result = metrics["degradation"]
            for curve in ("morf", "lerf"):
                rows.extend((name, "degradation", curve, float(x), float(y))
                            for x, y in zip(result["fractions"], result[curve]))
        if "mean_curve" in metrics.get("auc_rep", {}):
            result = metrics["auc_rep"]
            rows.extend((name, "auc_rep", "mean p(y|x)", float(x), float(y))
                        for x, y in zip(result["fractions"], result["mean_curve"]))
    return pd.DataFrame(rows, columns=["explainer", "metric", "curve", "x", "y"])


@dataclass(frozen=True)
class EvaluationSample:
    """The examples :func:`core.evaluation.evaluate` explains for (model, n, seed).

    Attributes:
        fingerprint: the model's ``weights_sha256`` (its evaluation-store key).
        inputs: example id -> text (a (text A, text B) tuple for a sentence-pair model), in sample order.
        pair: whether the model is a sentence-pair model.
    """

    fingerprint: str
    inputs: dict[str, Any]
    pair: bool

    @property
    def unit(self) -> str:
        """What one example is, in words: ``"sentences"`` or ``"pairs"``."""
        return "pairs" if self.pair else "sentences"

    def typical(self) -> Any:
        """The example of median length (in words), e.g. for a time estimate."""
        def length(example: Any) -> int:
            return sum(len(str(part).split()) for part in (example if isinstance(example, tuple) else (example,)))

        examples = sorted(self.inputs.values(), key=length)
        return examples[len(examples) // 2]


def evaluation_sample(model: str, n: int, seed: int, data: Any | None = None) -> EvaluationSample:
    """The seeded sample of test examples :func:`core.evaluation.evaluate` draws for these arguments.

    Reads only the checkpoint's config (no weights); ``data`` as for ``evaluate`` (the dataset of a
    Hugging Face classifier). Raises what reading the config or the data raises.
    """
    from core import checkpoints
    from core.evaluation.common import sample_ids
    from core.models.loading import checkpoint_path

    path = checkpoint_path(model)
    config = checkpoints.read_config(path)
    if config.get("pair"):
        from core.data.pairs import load_pair_dataset

        test = (data if data is not None else load_pair_dataset(config["dataset"])).test
        every = {i: (a, b) for i, a, b in zip(test.ids, test.texts_a, test.texts_b)}
    else:
        from core.data.model_data import model_dataset

        test = model_dataset(config, path, data).test
        every = dict(zip(test.ids, test.texts))
    ids = sample_ids(list(test.ids), n, seed)
    return EvaluationSample(config["weights_sha256"], {i: every[i] for i in ids}, bool(config.get("pair")))


def stored_seconds(records: Sequence[dict], sample: EvaluationSample, store: Any | None = None) -> dict[str, float]:
    """Explainer -> mean seconds one explanation of ``sample`` took when it was computed (each stored
    explanation keeps its ``seconds``); explainers with none stored are left out."""
    from core.evaluation.store import EvaluationStore

    store = store if store is not None else EvaluationStore()
    means = {}
    for record in records:
        if record.get("skipped"):
            continue
        file = store.explanations(sample.fingerprint, record["explainer"], record.get("params", {}))
        found = [file.get(i) for i in sample.inputs]
        times = [float(e["seconds"]) for e in found if e is not None and isinstance(e.get("seconds"), (int, float))]
        if times:
            means[record["explainer"]] = float(np.mean(times))
    return means


class ProgressWords:
    """The words of an evaluation's progress bar, from the runner's stages.

    :func:`core.evaluation.evaluate` names its stages ``"<explainer>"`` while explaining and
    ``"<explainer>: <metric>"`` before each metric; called with its :class:`core.progress.Progress`,
    this gives ``"explaining with LIME: 12/60 sentences · about 40 s left"`` (counted per explainer)
    and ``"computing AUC_rep for LIME"``.

    Args:
        per_explainer: examples each explainer explains (``len(sample.inputs)``); None: not shown.
        labels: explainer name -> its label (``explainers_for(kind)[name].label``).
        unit: what an example is (``"sentences"``, ``"pairs"``).
    """

    def __init__(self, per_explainer: int | None = None, labels: Mapping[str, str] | None = None,
                 unit: str = "sentences"):
        self.per_explainer, self.labels, self.unit = per_explainer, dict(labels or {}), unit
        self._stage, self._base, self._last = None, 0, 0

    def __call__(self, progress) -> str:
        """The bar's text for ``progress`` (its ``stage``, ``done``, ``total`` and ``describe()``)."""
        from core.evaluation.common import METRIC_LABELS

        if not progress.stage:
            return "starting…"
        name, _, metric = progress.stage.partition(": ")
        label = self.labels.get(name, name)
        if metric:
            self._last = progress.done
            return f"computing {METRIC_LABELS.get(metric, metric)} for {label}"
        if progress.stage != self._stage:  # a new explainer: its count starts from what was done before it
            self._stage, self._base = progress.stage, self._last
        self._last = progress.done
        count = progress.done - self._base
        of = f"/{self.per_explainer}" if self.per_explainer else ""
        left = f" · {progress.describe()}" if progress.done < progress.total else ""
        return f"explaining with {label}: {count}{of} {self.unit}{left}"
