"""Dataset-level word importance figures: word clouds and frequency vs importance (VMASK Figures 2, 3)."""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.metrics.importance import DEFAULT_MIN_COUNT


CLOUD_MIN_COUNT = DEFAULT_MIN_COUNT  # the Dataset importance page's default (see core.metrics.importance)


def cloud_words(words: Sequence[str], scores: Sequence[float], counts: Sequence[int],
                min_count: int = CLOUD_MIN_COUNT, top_k: int = 100) -> list[str]:
    """The words a cloud shows: the ``top_k`` most important of those seen at least ``min_count`` times."""
    from core.metrics.importance import frequent_words

    kept, kept_scores = frequent_words(words, scores, counts, min_count)
    return list(_top_frequencies(kept, kept_scores, top_k))


def _top_frequencies(words: Sequence[str], scores: Sequence[float], top_k: int) -> dict[str, float]:
    pairs = [(str(w), float(s)) for w, s in zip(words, scores) if np.isfinite(s) and float(s) > 0]
    if not pairs:
        raise ValueError("a word cloud needs at least one word with a positive importance")
    if top_k < 1:
        raise ValueError("top_k must be at least 1")
    pairs.sort(key=lambda p: (-p[1], p[0]))
    return dict(pairs[:top_k])


def word_cloud(words: Sequence[str], scores: Sequence[float], top_k: int = 100, width: int = 800,
               height: int = 400, seed: int = 0):
    """The laid-out ``wordcloud.WordCloud`` of the ``top_k`` most important words, sized by importance.

    Words are drawn in :data:`core.viz.palette.CLOUD_COLORS` (each at least 3:1 against the white
    background). Words with a non-positive or non-finite score are left out. The layout is
    deterministic for a given ``seed``.

    Raises:
        ValueError: no word has a positive score, or ``top_k`` < 1.
    """
    from wordcloud import WordCloud

    from core.viz.palette import cloud_colormap

    frequencies = _top_frequencies(words, scores, top_k)
    cloud = WordCloud(width=width, height=height, background_color="white", random_state=seed,
                      max_words=len(frequencies), prefer_horizontal=0.9, colormap=cloud_colormap(),
                      relative_scaling=0.5)
    return cloud.generate_from_frequencies(frequencies)


def word_cloud_image(words: Sequence[str], scores: Sequence[float], top_k: int = 100, width: int = 800,
                     height: int = 400, seed: int = 0):
    """:func:`word_cloud` as a ``PIL.Image`` (same arguments and errors)."""
    return word_cloud(words, scores, top_k, width, height, seed).to_image()


def word_cloud_png(words: Sequence[str], scores: Sequence[float], top_k: int = 100, width: int = 800,
                   height: int = 400, seed: int = 0) -> bytes:
    """:func:`word_cloud_image` encoded as PNG bytes."""
    buffer = io.BytesIO()
    word_cloud_image(words, scores, top_k, width, height, seed).save(buffer, format="PNG")
    return buffer.getvalue()


PLOT_PIXELS = (900.0, 360.0)  # nominal plot area (width, height) the labels are spread out in
CHAR_PIXELS, LINE_PIXELS = 6.6, 15.0  # a label's size at font size 11
_DIRECTIONS = ((0, -1), (0, 1), (1, -1), (-1, -1), (1, 1), (-1, 1), (1, 0), (-1, 0))
_DISTANCES = (14, 26, 40, 56, 74, 96, 120)
OVERLAP_COST = 1000.0  # per square pixel covered: any overlap is worse than labels nearer other points


def _box(x: float, y: float, text: str) -> tuple[float, float, float, float]:
    half_w, half_h = (CHAR_PIXELS * len(text) + 4) / 2, LINE_PIXELS / 2
    return x - half_w, y - half_h, x + half_w, y + half_h


def _overlap(a: tuple, b: tuple) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _misleading(centre: tuple[float, float], own: tuple[float, float], points: Sequence[tuple[float, float]]) -> int:
    """How many other points (not at ``own``'s place) a label centred at ``centre`` is nearer than to its own."""
    mine = np.hypot(centre[0] - own[0], centre[1] - own[1])
    return sum(np.hypot(centre[0] - x, centre[1] - y) < mine for x, y in points
               if np.hypot(x - own[0], y - own[1]) > 3)


def place_labels(points: Sequence[tuple[float, float]], texts: Sequence[str],
                 size: tuple[float, float] = PLOT_PIXELS) -> list[tuple[float, float]]:
    """Pixel offsets (dx, dy; y down) that put each label near its point without covering another.

    Greedy, in the given order (most important first): each label takes the nearest of 8 directions
    times 7 distances whose box (:data:`CHAR_PIXELS` per character) stays in the plot, overlaps no
    label placed before nor any labelled point, and is nearer its own point than any other labelled
    point; when none is, the one that breaks these least (staying inside first, then not overlapping).

    Args:
        points: (x, y) in pixels of the plot area, y down.
        texts: one label per point.
        size: the plot area (width, height) in pixels.
    """
    placed: list[tuple] = []
    marks = [(x - 5, y - 5, x + 5, y + 5) for x, y in points]
    offsets = []
    for (x, y), text in zip(points, texts):
        best, best_cost = (0.0, -float(_DISTANCES[0])), float("inf")
        for distance in _DISTANCES:
            for ux, uy in _DIRECTIONS:
                dx = ux * (distance + CHAR_PIXELS * len(text) / 2 if ux else 0)
                dy = uy * distance
                box = _box(x + dx, y + dy, text)
                outside = box[0] < 0 or box[1] < 0 or box[2] > size[0] or box[3] > size[1]
                cost = (OVERLAP_COST * sum(_overlap(box, other) for other in placed + marks) + (1e12 if outside else 0)
                        + _misleading((x + dx, y + dy), (x, y), points))
                if cost < best_cost:
                    best, best_cost = (dx, dy), cost
            if best_cost == 0:
                break
        offsets.append(best)
        placed.append(_box(x + best[0], y + best[1], text))
    return offsets


def _to_pixels(frequency, importance, data: pd.DataFrame, size=PLOT_PIXELS) -> list[tuple[float, float]]:
    """Where (frequency, importance) points fall in the nominal plot area (log x, y down, 5% padding)."""
    log_f = np.log10(data["frequency"].to_numpy(dtype=float))
    x_low, x_high = log_f.min(), log_f.max()
    y_low, y_high = float(data["importance"].min()), float(data["importance"].max())
    x_pad, y_pad = 0.05 * ((x_high - x_low) or 1.0), 0.05 * ((y_high - y_low) or 1.0)
    xs = (np.log10(np.asarray(frequency, dtype=float)) - x_low + x_pad) / (x_high - x_low + 2 * x_pad) * size[0]
    ys = (y_high + y_pad - np.asarray(importance, dtype=float)) / (y_high - y_low + 2 * y_pad) * size[1]
    return list(zip(xs.tolist(), ys.tolist()))


def label_annotations(labelled: pd.DataFrame, data: pd.DataFrame) -> list[dict]:
    """Plotly annotations for ``labelled`` (columns word, frequency, importance, color), spread apart by
    :func:`place_labels` and tied to their points by a thin line; ``data`` (all words) sets the axes."""
    points = _to_pixels(labelled["frequency"], labelled["importance"], data)
    offsets = place_labels(points, list(labelled["word"]))
    return [{"x": float(np.log10(row.frequency)), "y": float(row.importance), "text": row.word,
             "ax": dx, "ay": dy, "showarrow": True, "arrowhead": 0, "arrowwidth": 1, "arrowcolor": "#9a9a9a",
             "standoff": 4, "font": {"size": 11, "color": row.color}, "bgcolor": "rgba(255,255,255,0.7)"}
            for row, (dx, dy) in zip(labelled.itertuples(index=False), offsets)]


def _labelled(top_important: pd.DataFrame, top_frequent: pd.DataFrame) -> pd.DataFrame:
    """One label per marked word, most important first (a word in both groups is labelled once, in red)."""
    important = top_important.assign(color=IMPORTANT_COLOR)
    frequent = top_frequent[~top_frequent["word"].isin(important["word"])].assign(color=FREQUENT_COLOR)
    return pd.concat([important, frequent], ignore_index=True)


IMPORTANT_COLOR, FREQUENT_COLOR = "#d62728", "#1f77b4"


def frequency_importance_figure(table: pd.DataFrame, top_k: int = 10, title: str = "Frequency vs importance",
                                pearson_r: float | None = None) -> go.Figure:
    """Scatter of word frequency (x, log scale) against importance (y), as VMASK Figure 2.

    All words are faint points with hover text; the ``top_k`` most important and the ``top_k`` most
    frequent words are marked in distinct colours (a word in both is in both traces) and labelled once
    each, the labels spread apart (:func:`place_labels`) so that nearby points' words stay readable.

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
    fig.add_trace(go.Scatter(x=top_important["frequency"], y=top_important["importance"], mode="markers",
                             name=f"top-{top_k} important", text=top_important["word"],
                             hovertemplate=hover, marker={"size": 9, "color": IMPORTANT_COLOR}))
    fig.add_trace(go.Scatter(x=top_frequent["frequency"], y=top_frequent["importance"], mode="markers",
                             name=f"top-{top_k} frequent", text=top_frequent["word"],
                             hovertemplate=hover, marker={"size": 9, "color": FREQUENT_COLOR, "symbol": "diamond"}))
    if len(data):
        fig.update_layout(annotations=label_annotations(_labelled(top_important, top_frequent), data))
    fig.update_layout(title=f"{title} (Pearson r = {pearson_r:.3f})", xaxis_title="word frequency (log scale)",
                      yaxis_title="global importance", legend={"orientation": "h", "y": -0.2},
                      margin={"t": 60, "l": 40, "r": 20, "b": 40}, height=500)
    fig.update_xaxes(type="log")
    return fig
