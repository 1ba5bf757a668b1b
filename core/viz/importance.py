"""Dataset-level word importance figures: word clouds and frequency vs importance (VMASK Figures 2, 3)."""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go


def _top_frequencies(words: Sequence[str], scores: Sequence[float], top_k: int) -> dict[str, float]:
    pairs = [(str(w), float(s)) for w, s in zip(words, scores) if np.isfinite(s) and float(s) > 0]
    if not pairs:
        raise ValueError("a word cloud needs at least one word with a positive importance")
    if top_k < 1:
        raise ValueError("top_k must be at least 1")
    pairs.sort(key=lambda p: (-p[1], p[0]))
    return dict(pairs[:top_k])


def word_cloud_image(words: Sequence[str], scores: Sequence[float], top_k: int = 100, width: int = 800,
                     height: int = 400, seed: int = 0):
    """A word cloud (``PIL.Image``) of the ``top_k`` most important words, sized by importance.

    Words with a non-positive or non-finite score are left out. The layout is deterministic for a
    given ``seed``.

    Raises:
        ValueError: no word has a positive score, or ``top_k`` < 1.
    """
    from wordcloud import WordCloud

    frequencies = _top_frequencies(words, scores, top_k)
    cloud = WordCloud(width=width, height=height, background_color="white", random_state=seed,
                      max_words=len(frequencies), prefer_horizontal=0.9, colormap="viridis",
                      relative_scaling=0.5)
    return cloud.generate_from_frequencies(frequencies).to_image()


def word_cloud_png(words: Sequence[str], scores: Sequence[float], top_k: int = 100, width: int = 800,
                   height: int = 400, seed: int = 0) -> bytes:
    """:func:`word_cloud_image` encoded as PNG bytes."""
    buffer = io.BytesIO()
    word_cloud_image(words, scores, top_k, width, height, seed).save(buffer, format="PNG")
    return buffer.getvalue()


def frequency_importance_figure(table: pd.DataFrame, top_k: int = 10, title: str = "Frequency vs importance",
                                pearson_r: float | None = None) -> go.Figure:
    """Scatter of word frequency (x, log scale) against importance (y), as VMASK Figure 2.

    All words are faint points with hover text; the ``top_k`` most important and the ``top_k`` most
    frequent words are marked in distinct colours and labelled (a word in both is in both traces).

    Args:
        table: columns ``word``, ``frequency``, ``importance`` (e.g. ``FrequencyImportance.table``).
        top_k: how many words to mark in each group.
        title: figure title; ``(Pearson r = ...)`` is appended.
        pearson_r: the correlation to show; computed from the table when None.
    """
    data = table[["word", "frequency", "importance"]].copy()
    data = data[data["frequency"] > 0]
    if pearson_r is None:
        ok = len(data) > 1 and np.ptp(data["frequency"]) > 0 and np.ptp(data["importance"]) > 0
        pearson_r = float(np.corrcoef(data["frequency"], data["importance"])[0, 1]) if ok else float("nan")
    top_important = data.sort_values(["importance", "frequency"], ascending=False, kind="stable").head(top_k)
    top_frequent = data.sort_values(["frequency", "importance"], ascending=False, kind="stable").head(top_k)
    hover = "%{text}<br>frequency %{x}<br>importance %{y:.4f}<extra></extra>"
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=data["frequency"], y=data["importance"], mode="markers", name="all words",
                               text=data["word"], hovertemplate=hover,
                               marker={"size": 4, "color": "rgba(120,120,120,0.25)"}))
    fig.add_trace(go.Scatter(x=top_important["frequency"], y=top_important["importance"], mode="markers+text",
                             name=f"top-{top_k} important", text=top_important["word"], textposition="top center",
                             hovertemplate=hover, marker={"size": 9, "color": "#d62728"}))
    fig.add_trace(go.Scatter(x=top_frequent["frequency"], y=top_frequent["importance"], mode="markers+text",
                             name=f"top-{top_k} frequent", text=top_frequent["word"], textposition="bottom center",
                             hovertemplate=hover, marker={"size": 9, "color": "#1f77b4", "symbol": "diamond"}))
    fig.update_layout(title=f"{title} (Pearson r = {pearson_r:.3f})", xaxis_title="word frequency (log scale)",
                      yaxis_title="global importance", legend={"orientation": "h", "y": -0.2},
                      margin={"t": 60, "l": 40, "r": 20, "b": 40}, height=500)
    fig.update_xaxes(type="log")
    return fig
