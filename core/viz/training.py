"""Training curves for the Train page: loss per step and dev accuracy per epoch (plotly)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go


def smoothed(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing moving average of ``values`` over up to ``window`` points (same length as ``values``)."""
    values = np.asarray(values, dtype=float)
    if window < 1:
        raise ValueError("window must be at least 1")
    sums = np.cumsum(np.insert(values, 0, 0.0))
    index = np.arange(1, len(values) + 1)
    start = np.maximum(index - window, 0)
    return (sums[index] - sums[start]) / (index - start)


def smoothing_window(steps_per_epoch: int | None) -> int:
    """Steps the loss curve is averaged over: a tenth of an epoch (of 50 steps when unknown), at least 1."""
    return max(1, (steps_per_epoch or 50) // 10)


def smoothed_label(window: int) -> str:
    """The legend of a loss curve averaged over ``window`` steps: "loss per step" for 1, else
    "moving average over N steps"."""
    return "loss per step" if window == 1 else f"moving average over {window} steps"


def loss_figure(losses: Sequence[float], steps_per_epoch: int | None = None) -> go.Figure:
    """Training loss of every optimizer step, with a moving average over about a tenth of an epoch
    (:func:`smoothing_window`; with a window of one step the legend says "loss per step" once).

    Args:
        losses: loss of step 1, 2, ... (the method's full objective, e.g. CE + beta * regulariser).
        steps_per_epoch: when given, epochs are marked by dotted vertical lines.
    """
    steps = np.arange(1, len(losses) + 1)
    window = smoothing_window(steps_per_epoch)
    figure = go.Figure([  # a 1-step "average" is the loss itself: then the legend names it once
        go.Scatter(x=steps, y=list(losses), mode="lines", name=smoothed_label(1), line={"width": 1},
                   opacity=0.35, showlegend=window > 1),
        go.Scatter(x=steps, y=smoothed(losses, window), mode="lines", name=smoothed_label(window)),
    ])
    if steps_per_epoch:
        for boundary in range(steps_per_epoch, len(losses), steps_per_epoch):
            figure.add_vline(x=boundary + 0.5, line_dash="dot", line_color="grey")
    figure.update_layout(title="Training loss", xaxis_title="step", yaxis_title="loss", height=340,
                         margin={"l": 10, "r": 10, "t": 50, "b": 10},
                         legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0})
    return figure


def accuracy_figure(history: Sequence[dict]) -> go.Figure:
    """Dev accuracy (%) after every epoch; ``history`` rows have ``epoch`` and ``dev_accuracy`` in [0, 1]."""
    epochs = [row["epoch"] for row in history]
    accuracy = [100 * row["dev_accuracy"] for row in history]
    figure = go.Figure(go.Scatter(x=epochs, y=accuracy, mode="lines+markers", name="dev accuracy"))
    figure.update_layout(title="Dev accuracy", xaxis_title="epoch", yaxis_title="accuracy (%)", height=320,
                         margin={"l": 10, "r": 10, "t": 50, "b": 10})
    figure.update_xaxes(dtick=1)
    return figure
