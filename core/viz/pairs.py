"""Sentence-pair explanations drawn: two rows of word chips per method, and GMASK's groups as a plotly figure.

The chips use the single-text heatmap's colours (:mod:`core.viz.heatmap`): a signed method (zero
erasure, LIME, Shapley) colours a word red when it supports the explained class and blue when it
opposes it; an unsigned one (GMASK, IMASK) has a sequential purple, as it has no direction. Each
row has a colour bar with its unit and range, and each chip's text is dark or white, whichever
reads better on the chip's own background. The two texts are two rows marked A and B.

The groups are drawn as the GMASK paper's Figures 1-2: A's words on top, B's words at the bottom,
one node per group in between (coloured and sized by the group importance psi, labelled with it),
and a line from every word to every group with width and opacity phi_j(group), the probability
that the word is in that group (hover a line, a node or a word for the numbers).
"""

from __future__ import annotations

import html
from typing import Any, Sequence

import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from core.explain.base import PairExplanation
from core.viz.heatmap import STYLE as HEATMAP_STYLE
from core.viz.heatmap import chip_color, method_label, scale_bar_html, score_scale
from core.viz.palette import DARK_TEXT, readable_text_color

HUE_A = (231, 41, 138)    # pink, words of the first text in the group figure
HUE_B = (31, 119, 180)    # blue, words of the second text in the group figure
LINK = (117, 54, 160)     # purple word-to-group lines
GROUP_SCALE = "Purples"   # group nodes, by importance psi in [0, 1]
MIN_PROB = 0.3            # a group's table row lists every word at least this probable in it
Y_A, Y_GROUPS, Y_B = 1.0, 0.5, 0.0


def _rgba(rgb: tuple[int, int, int], alpha: float) -> str:
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{min(max(alpha, 0.0), 1.0):.3f})"


def chip(word: str, score: float, scale: float, side: str, unit: str, signed: bool = True) -> str:
    """One word chip (HTML): the heatmap's colour for ``score`` (red/blue if signed, else purple), text dark or
    white by contrast, and the single-text chips' tooltip (hover, keyboard focus, tap) with the score."""
    background = chip_color(score, scale, signed)
    where = "first" if side == "a" else "second"
    value = f"{score:+.4f}" if signed else f"{score:.4f}"
    label = html.escape(f"{word} ({where} text): {value} {unit}")
    tip = (f'<span class="ml-tip" aria-hidden="true"><span class="ml-tip-head"><b>{html.escape(word)}</b> '
           f"({where} text) {html.escape(value)} {html.escape(unit)}</span></span>")
    return (f'<span class="ml-chip ml-{side}" tabindex="0" role="img" data-side="{side}" data-score="{score:.6g}" '
            f'aria-label="{label}" style="background:{background};color:{readable_text_color(background)}">'
            f'<span class="ml-word">{html.escape(word)}</span>{tip}</span>')


STYLE = HEATMAP_STYLE + ("<style>.ml-prow{line-height:2.2;margin:2px 0}"
                         ".ml-side{font:600 12px sans-serif;color:#666;display:inline-block;width:18px}</style>")


def probabilities_text(explanation: PairExplanation, label_names: Sequence[str] | None = None) -> str:
    """The pair's predicted probabilities in one line: ``"p(different type) = 0.812, p(same type) = 0.188"``."""
    names = list(label_names) if label_names else [str(i) for i in range(len(explanation.probs))]
    return ", ".join(f"p({name}) = {p:.3f}" for name, p in zip(names, explanation.probs))


def _method_block(e: PairExplanation, scale: float) -> str:
    """One method's label, colour bar and the A and B chip rows."""
    unit = e.params.get("unit", "score")
    what = f"explains “{html.escape(e.target_name)}”" if e.signed else "unsigned"
    rows = []
    for side, words, scores in (("a", e.words_a, e.scores_a), ("b", e.words_b, e.scores_b)):
        chips = " ".join(chip(w, s, scale, side, unit, e.signed) for w, s in zip(words, scores))
        rows.append(f'<div class="ml-prow" data-method="{html.escape(e.method)}" data-side="{side}">'
                    f'<span class="ml-side">{side.upper()}</span>{chips}</div>')
    return (f'<div class="ml-label">{html.escape(method_label(e.method))} — {what}; {html.escape(unit)}</div>'
            + scale_bar_html(e, scale) + "".join(rows))


def pair_rows_html(explanations: Sequence[PairExplanation], shared_scale: bool = True,
                   standalone: bool = False, label_names: Sequence[str] | None = None) -> str:
    """Every explanation as a label, a colour bar and two chip rows (A, B); optionally a full HTML document.

    The probabilities are not repeated per row (every row explains the same prediction); a standalone
    document states them once at the top, with ``label_names`` when given.
    """
    blocks = [_method_block(e, scale) for e, scale in zip(explanations, score_scale(explanations, shared_scale))]
    body = STYLE + "\n".join(blocks)
    if not standalone:
        return body
    head = (f'<div class="ml-label">{html.escape(probabilities_text(explanations[0], label_names))}</div>'
            if explanations else "")
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>MaskLens pair explanation</title></head>'
            f'<body>{head}{body}</body></html>')


def best_groups(explanation: PairExplanation) -> dict[tuple[str, int], int]:
    """Each selected word's ``(side, index)`` -> the rank (0 = most important) of the group it most probably is in."""
    best: dict[tuple[str, int], tuple[float, int]] = {}
    for rank, group in enumerate(explanation.groups):
        for m in group["words"]:
            key = (m["side"], m["index"])
            if key not in best or m["prob"] > best[key][0]:
                best[key] = (m["prob"], rank)
    return {key: rank for key, (_, rank) in best.items()}


def group_members(explanation: PairExplanation, min_prob: float = MIN_PROB) -> list[list[dict[str, Any]]]:
    """Per group (most important first) the words that form it, most probable first.

    A word is listed in a group when that is its most probable group or its probability there is at
    least ``min_prob``; a group that no word prefers still lists its most probable word, so no group
    is ever shown empty.
    """
    best = best_groups(explanation)
    members = []
    for rank, group in enumerate(explanation.groups):
        words = sorted(group["words"], key=lambda m: -m["prob"])
        chosen = [m for m in words if m["prob"] >= min_prob or best[(m["side"], m["index"])] == rank]
        members.append(chosen or words[:1])
    return members


def group_table(explanation: PairExplanation, min_prob: float = MIN_PROB) -> list[dict[str, Any]]:
    """The groups as table rows: ``{"group": "G1", "importance ψ": psi, "words": "A:who (0.64), B:who (0.81)"}``
    with the words of :func:`group_members`."""
    return [{"group": f"G{rank + 1}", "importance ψ": round(group["importance"], 4),
             "words": ", ".join(f"{m['side'].upper()}:{m['word']} ({m['prob']:.2f})" for m in members)}
            for rank, (group, members) in enumerate(zip(explanation.groups, group_members(explanation, min_prob)))]


def _spread(count: int) -> list[float]:
    """``count`` x positions evenly spread over [0, 1]."""
    return [(i + 0.5) / count for i in range(count)]


def _word_positions(explanation: PairExplanation) -> dict[tuple[str, int], tuple[float, float]]:
    """(side, index) -> (x, y) of every word some group holds, A on top and B at the bottom, in text order."""
    selected = sorted({(m["side"], m["index"]) for g in explanation.groups for m in g["words"]})
    positions = {}
    for side, y in (("a", Y_A), ("b", Y_B)):
        keys = [key for key in selected if key[0] == side]
        positions.update({key: (x, y) for key, x in zip(keys, _spread(len(keys)))})
    return positions


def _link_text(member: dict[str, Any], rank: int) -> str:
    return f"{member['side'].upper()}:{member['word']} in G{rank + 1}: φ = {member['prob']:.3f}"


def _link_trace(member: dict[str, Any], rank: int, start: tuple[float, float], end: tuple[float, float]) -> go.Scatter:
    """The line from one word to one group: width and opacity by phi, the probability in ``meta``. It skips hover
    (its ends lie on the word's and the group's markers, whose hover would lose to it); :func:`_links_hover` has it."""
    prob = member["prob"]
    return go.Scatter(x=[start[0], end[0]], y=[start[1], end[1]], mode="lines",
                      line={"width": 0.5 + 5 * prob, "color": _rgba(LINK, 0.08 + 0.92 * prob)},
                      hoverinfo="skip", text=_link_text(member, rank), showlegend=False,
                      name=f"{member['side'].upper()}:{member['word']} → G{rank + 1}",
                      meta={"kind": "link", "side": member["side"], "index": member["index"],
                            "word": member["word"], "group": rank, "prob": prob})


def _links_hover(links: list[go.Scatter]) -> go.Scatter:
    """Invisible points at the middle of every line, hovering shows the line's word, group and probability."""
    return go.Scatter(x=[sum(t.x) / 2 for t in links], y=[sum(t.y) / 2 for t in links], mode="markers",
                      marker={"size": 10, "color": "rgba(0,0,0,0)"}, hovertext=[t.text for t in links],
                      hoverinfo="text", showlegend=False, name="word-to-group probabilities",
                      meta={"kind": "link-hover"})


def _group_trace(explanation: PairExplanation, xs: list[float]) -> go.Scatter:
    """One node per group: colour and size by psi, labelled ``G1`` and psi, its words on hover."""
    psi = [g["importance"] for g in explanation.groups]
    text_colors = [readable_text_color(c) for c in sample_colorscale(GROUP_SCALE, [min(max(p, 0.0), 1.0) for p in psi])]
    hover = [f"G{rank + 1}: importance ψ = {p:.4g}<br>" + "<br>".join(
             f"{m['side'].upper()}:{m['word']} φ = {m['prob']:.2f}" for m in members)
             for rank, (p, members) in enumerate(zip(psi, group_members(explanation)))]
    return go.Scatter(x=xs, y=[Y_GROUPS] * len(xs), mode="markers+text", name="groups",
                      text=[f"G{rank + 1}<br>{p:.2f}" for rank, p in enumerate(psi)],
                      textfont={"color": text_colors, "size": 11}, textposition="middle center",
                      hovertext=hover, hoverinfo="text", showlegend=False, meta={"kind": "groups"},
                      marker={"size": [36 + 22 * min(max(p, 0.0), 1.0) for p in psi], "color": psi,
                              "colorscale": GROUP_SCALE, "cmin": 0, "cmax": 1, "line": {"width": 1, "color": "#555"},
                              "colorbar": {"title": {"text": "group<br>importance ψ"}, "thickness": 12, "len": 0.8}})


def _word_trace(explanation: PairExplanation, side: str, positions: dict, best: dict) -> go.Scatter:
    """The words of one text as labelled dots (pink A on top, blue B below), each word's best group on hover."""
    keys = [key for key in positions if key[0] == side]
    words = explanation.words_a if side == "a" else explanation.words_b
    color = _rgba(HUE_A if side == "a" else HUE_B, 1)
    hover = [f"text {side.upper()}, word {i + 1}: {words[i]}<br>most probable in G{best[(side, i)] + 1}"
             for _, i in keys]
    return go.Scatter(x=[positions[k][0] for k in keys], y=[positions[k][1] for k in keys], mode="markers+text",
                      text=[words[i] for _, i in keys], textposition="top center" if side == "a" else "bottom center",
                      textfont={"color": color, "size": 14}, marker={"color": color, "size": 8},
                      hovertext=hover, hoverinfo="text", name=f"text {side.upper()}", showlegend=False,
                      meta={"kind": "words", "side": side})


def groups_figure(explanation: PairExplanation) -> go.Figure:
    """GMASK's groups as a plotly figure (module docstring): A's words on top, B's at the bottom, a node per
    group (most important first, left to right) and a line per (word, group) with its probability phi.

    Returns:
        A figure; without groups (not a GMASK explanation) an empty one with a note.
    """
    fig = go.Figure()
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 30, "b": 30}, plot_bgcolor="white",
                      xaxis={"visible": False, "range": [-0.02, 1.02], "fixedrange": True},
                      yaxis={"tickvals": [Y_B, Y_GROUPS, Y_A], "ticktext": ["text B", "groups", "text A"],
                             "range": [-0.3, 1.3], "showgrid": False, "zeroline": False, "fixedrange": True},
                      hovermode="closest", hoverlabel={"bgcolor": "white", "font": {"color": DARK_TEXT}})
    if not explanation.groups:
        fig.add_annotation(text="no groups (only GMASK has groups)", showarrow=False, x=0.5, y=Y_GROUPS)
        return fig
    positions = _word_positions(explanation)
    group_xs = _spread(len(explanation.groups))
    links = [_link_trace(member, rank, positions[(member["side"], member["index"])], (group_xs[rank], Y_GROUPS))
             for rank, group in enumerate(explanation.groups) for member in group["words"]]
    fig.add_traces(links + [_links_hover(links)])
    best = best_groups(explanation)
    fig.add_trace(_word_trace(explanation, "a", positions, best))
    fig.add_trace(_word_trace(explanation, "b", positions, best))
    fig.add_trace(_group_trace(explanation, group_xs))
    return fig
