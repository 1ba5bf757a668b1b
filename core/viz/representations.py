"""t-SNE scatter of sentence representations, coloured by gold label (VAT / E-VarM style figures)."""

from __future__ import annotations

import html
import math
import textwrap
from typing import Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

HOVER_CHARS = 200
HOVER_WIDTH = 60


def truncate(text: str, limit: int = HOVER_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def hover_text(text: str) -> str:
    """``text`` truncated, HTML-escaped and wrapped into lines of about 60 characters for a plotly hover box."""
    return "<br>".join(textwrap.wrap(html.escape(truncate(text)), HOVER_WIDTH)) or "(empty)"


def separation_caption(scores: dict) -> str:
    """One line with the separation numbers of a :class:`core.metrics.separation.Separation` dict."""
    def fmt(value) -> str:
        return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"

    return (f"intra-class distance {fmt(scores['intra'])} · inter-class distance {fmt(scores['inter'])} "
            f"(ratio {fmt(scores['ratio'])}) · silhouette {fmt(scores['silhouette'])}")


def projection_figure(coords: np.ndarray | Sequence[Sequence[float]], labels: Sequence[int],
                      label_names: Sequence[str], texts: Sequence[str], title: str = "",
                      subtitle: str = "") -> go.Figure:
    """Scatter of 2-D coordinates, one trace (colour) per gold label, hover = the (truncated) sentence.

    Args:
        coords: [N, 2] t-SNE coordinates.
        labels: [N] label indices into ``label_names``.
        label_names: class names (legend entries, in this order; classes absent from the sample are left out).
        texts: [N] sentences shown on hover (truncated to 200 characters, wrapped).
        title, subtitle: figure title and a smaller second line (e.g. the separation numbers).

    Raises:
        ValueError: lengths differ or ``coords`` is not [N, 2].
    """
    coords = np.asarray(coords, dtype=float).reshape(-1, 2) if len(coords) else np.zeros((0, 2))
    labels = np.asarray(labels, dtype=int)
    if not len(coords) == len(labels) == len(texts):
        raise ValueError(f"{len(coords)} points, {len(labels)} labels and {len(texts)} texts differ in number")
    palette = px.colors.qualitative.Plotly
    figure = go.Figure()
    for index, name in enumerate(label_names):
        rows = np.flatnonzero(labels == index)
        if not len(rows):
            continue
        figure.add_trace(go.Scatter(
            x=coords[rows, 0], y=coords[rows, 1], mode="markers", name=str(name),
            marker={"size": 6, "opacity": 0.75, "color": palette[index % len(palette)]},
            text=[hover_text(texts[i]) for i in rows],
            hovertemplate=f"<b>{name}</b><br>%{{text}}<extra></extra>"))
    heading = title + (f"<br><sup>{subtitle}</sup>" if subtitle else "")
    figure.update_layout(title={"text": heading}, legend_title_text="gold label", height=480,
                         margin={"l": 10, "r": 10, "t": 70, "b": 10})
    figure.update_xaxes(showticklabels=False, title_text="t-SNE 1")
    figure.update_yaxes(showticklabels=False, title_text="t-SNE 2")
    return figure
