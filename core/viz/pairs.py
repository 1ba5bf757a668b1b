"""Sentence-pair explanations as HTML: two rows of word chips and GMASK's groups as an SVG.

As the GMASK paper's Table 3, words of the first text are coloured pink and
words of the second blue, the saturation being the word's attribution
relative to the row's scale. Signed methods (zero erasure, LIME) colour words
that *oppose* the explained class grey. The groups are drawn as the paper's
Figures 1-2: A's words on top, B's words at the bottom, one box per group in
between (its colour saturation is the group importance psi), and a purple
line from every word to every group with opacity phi_j(group).
"""

from __future__ import annotations

import html
from typing import Sequence

from core.explain.base import PairExplanation
from core.viz.heatmap import score_scale

HUE_A = (231, 41, 138)    # pink, first text
HUE_B = (31, 119, 180)    # blue, second text
OPPOSE = (120, 120, 120)  # grey, opposing the explained class
LINK = (117, 54, 160)     # purple group links


def _rgba(rgb: tuple[int, int, int], alpha: float) -> str:
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{min(max(alpha, 0.0), 1.0):.3f})"


def chip(word: str, score: float, scale: float, side: str, unit: str) -> str:
    """One word chip (HTML): the side's hue for support, grey for opposition, alpha |score| / scale."""
    alpha = abs(score) / scale if scale > 0 else 0.0
    hue = (HUE_A if side == "a" else HUE_B) if score >= 0 else OPPOSE
    text_color = "#fff" if alpha > 0.6 else "#111"
    title = html.escape(f"{word} ({'first' if side == 'a' else 'second'} text): {score:+.4f} {unit}")
    return (f'<span class="ml-chip ml-{side}" data-side="{side}" data-score="{score:.6g}" title="{title}" '
            f'style="background:{_rgba(hue, alpha)};color:{text_color}">{html.escape(word)}</span>')


STYLE = ("<style>.ml-prow{line-height:2.2;margin:2px 0}.ml-chip{padding:3px 6px;border-radius:6px;"
         "border:1px solid #ddd;font-family:sans-serif;font-size:15px;white-space:nowrap}"
         ".ml-side{font:600 12px sans-serif;color:#666;display:inline-block;width:18px}"
         ".ml-label{font:600 13px sans-serif;color:#444;margin-top:10px}</style>")


def pair_rows_html(explanations: Sequence[PairExplanation], shared_scale: bool = True,
                   standalone: bool = False) -> str:
    """Every explanation as a label and two chip rows (A pink, B blue); optionally a full HTML document."""
    blocks = []
    for e, scale in zip(explanations, score_scale(explanations, shared_scale)):
        unit = e.params.get("unit", "score")
        what = f"explains “{html.escape(e.target_name)}”" if e.signed else "unsigned"
        probs = ", ".join(f"{p:.3f}" for p in e.probs)
        rows = []
        for side, words, scores in (("a", e.words_a, e.scores_a), ("b", e.words_b, e.scores_b)):
            chips = " ".join(chip(w, s, scale, side, unit) for w, s in zip(words, scores))
            rows.append(f'<div class="ml-prow" data-method="{html.escape(e.method)}" data-side="{side}">'
                        f'<span class="ml-side">{side.upper()}</span>{chips}</div>')
        blocks.append(f'<div class="ml-label">{html.escape(e.method)} — {what}; {html.escape(unit)}; '
                      f'p = [{probs}]</div>' + "".join(rows))
    body = STYLE + "\n".join(blocks)
    if not standalone:
        return body
    return f'<!doctype html><html><head><meta charset="utf-8"><title>MaskLens pair explanation</title></head><body>{body}</body></html>'


def groups_svg(explanation: PairExplanation, min_prob: float = 0.05, width_per_word: int = 78) -> str:
    """GMASK's groups as an SVG (module docstring); lines with phi below ``min_prob`` are left out.

    Returns:
        An ``<svg>`` string, or "" when the explanation has no groups.
    """
    groups = explanation.groups
    if not groups:
        return ""
    selected = {(m["side"], m["index"]) for g in groups for m in g["words"]}
    words_a = [(i, w) for i, w in enumerate(explanation.words_a) if ("a", i) in selected]
    words_b = [(i, w) for i, w in enumerate(explanation.words_b) if ("b", i) in selected]
    columns = max(len(words_a), len(words_b), len(groups), 1)
    width, height = columns * width_per_word + 40, 230
    y_a, y_g, y_b = 30, 115, 200

    def xs(count: int) -> list[float]:
        step = (width - 40) / max(count, 1)
        return [20 + step * (i + 0.5) for i in range(count)]

    pos = {("a", i): (x, y_a) for (i, _), x in zip(words_a, xs(len(words_a)))}
    pos.update({("b", i): (x, y_b) for (i, _), x in zip(words_b, xs(len(words_b)))})
    group_x = dict(zip([g["group"] for g in groups], xs(len(groups))))
    top = max(g["importance"] for g in groups) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="13" class="ml-groups">']
    for g in groups:
        for m in g["words"]:
            if m["prob"] < min_prob or (m["side"], m["index"]) not in pos:
                continue
            x, y = pos[(m["side"], m["index"])]
            y_end = y_g - 14 if m["side"] == "a" else y_g + 14
            parts.append(f'<line x1="{x:.1f}" y1="{y + (8 if m["side"] == "a" else -14)}" x2="{group_x[g["group"]]:.1f}" '
                         f'y2="{y_end}" stroke="{_rgba(LINK, m["prob"])}" stroke-width="2">'
                         f'<title>{html.escape(m["word"])} in group {g["group"] + 1}: {m["prob"]:.2f}</title></line>')
    for rank, g in enumerate(groups):
        x = group_x[g["group"]]
        alpha = 0.15 + 0.85 * g["importance"] / top
        parts.append(f'<rect x="{x - 30:.1f}" y="{y_g - 14}" width="60" height="28" rx="6" '
                     f'fill="{_rgba(LINK, alpha)}" data-importance="{g["importance"]:.4f}"/>'
                     f'<text x="{x:.1f}" y="{y_g + 5}" text-anchor="middle" fill="{"#fff" if alpha > 0.6 else "#111"}">'
                     f'G{rank + 1} {g["importance"]:.2f}</text>')
    for side, words, y, hue in (("a", words_a, y_a, HUE_A), ("b", words_b, y_b, HUE_B)):
        for i, w in words:
            x = pos[(side, i)][0]
            parts.append(f'<text x="{x:.1f}" y="{y}" text-anchor="middle" fill="{_rgba(hue, 1)}" '
                         f'font-weight="600">{html.escape(w)}</text>')
    parts.append("</svg>")
    return "".join(parts)
