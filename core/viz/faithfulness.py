"""Figures and tables of :func:`core.evaluation.evaluate` records: one colour per explainer.

Every function takes the runner's records (``{"explainer", "n", "metrics", ...}``; skipped
explainers and missing metrics are left out) so a notebook draws what the Faithfulness page draws.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

SUMMARY_K = (1, 5, 10)
ERASER_METRICS = ("comprehensiveness", "sufficiency")  # a mean over thresholds and a curve per threshold


def explainer_colors(records: Sequence[dict]) -> dict[str, str]:
    """A fixed colour per explainer name, in record order (plotly's qualitative palette)."""
    palette = qualitative.Plotly
    return {r["explainer"]: palette[i % len(palette)] for i, r in enumerate(records)}


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


def summary_table(records: Sequence[dict]) -> pd.DataFrame:
    """One row per explainer: n, AOPC (K as run), post-hoc accuracy at k = 1, 5, 10, degradation score,
    AUC_rep, each ERASER metric's mean over its thresholds when some record has it, seconds, and the
    reason when the explainer was skipped. Missing metrics are NaN."""
    rows = []
    for r in records:
        metrics = r.get("metrics", {})
        aopc = metrics.get("aopc", {})
        row = {"explainer": r["explainer"], "n": r.get("n", 0),
               f"AOPC@{aopc.get('k_max', len(aopc.get('per_k', [])) or 10)}": aopc.get("value", np.nan)}
        posthoc = {int(k): v for k, v in metrics.get("posthoc", {}).items()}
        row.update({f"posthoc@{k}": posthoc.get(k, np.nan) for k in SUMMARY_K})
        row["degradation"] = metrics.get("degradation", {}).get("score", np.nan)
        row["AUC_rep"] = metrics.get("auc_rep", {}).get("value", np.nan)
        row.update({m: metrics.get(m, {}).get("value", np.nan) for m in ERASER_METRICS
                    if any(m in other.get("metrics", {}) for other in records)})
        row["seconds"] = r.get("seconds", 0.0)
        row["skipped"] = r.get("skipped") or ""
        rows.append(row)
    return pd.DataFrame(rows)


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
