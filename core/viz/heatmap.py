"""Word chips coloured by attribution, as self-contained HTML.

Signed scores: red means the word supports the explained class, blue that it opposes it.
Unsigned importances (a mask's keep probability, attention, global importance) have no
direction, so they get their own sequential colour (purple) instead of red. Every row carries
a colour bar with its unit and range. The colour's intensity is the score's magnitude relative
to a scale that is
either shared across all rows (compare methods on one footing) or per row
(see each method's own ranking). Hovering a chip shows its score and, for
input marginalization, the top candidate words with their likelihood and
class probability.
"""

from __future__ import annotations

import html
from typing import Sequence

from core.explain.base import Explanation

SUPPORT_RGB = (214, 39, 40)   # red
OPPOSE_RGB = (31, 119, 180)   # blue
UNSIGNED_RGB = (106, 61, 154)  # purple: importance without a direction


def score_scale(explanations: Sequence[Explanation], shared: bool) -> list[float]:
    """The magnitude that maps to full colour, one per explanation.

    Args:
        shared: one scale for all rows in the same unit (the largest |score| among
            them), so methods measured alike compare on one footing; rows in other
            units (e.g. VMASK keep probabilities next to log2 odds) keep their own.
            Otherwise one scale per row.

    Returns:
        A positive number per explanation (1.0 where every score is 0).
    """
    row_max = [max((abs(s) for s in e.scores), default=0.0) or 1.0 for e in explanations]
    if not shared:
        return row_max
    units = [e.params.get("unit", "") for e in explanations]
    unit_max = {unit: max(m for m, u in zip(row_max, units) if u == unit) for unit in set(units)}
    return [unit_max[unit] for unit in units]


def chip_color(score: float, scale: float, signed: bool = True) -> str:
    """CSS rgba colour for ``score``: red for positive, blue for negative (purple for every unsigned
    score), alpha = |score| / scale in [0, 1]."""
    alpha = min(abs(score) / scale, 1.0) if scale > 0 else 0.0
    red, green, blue = UNSIGNED_RGB if not signed else SUPPORT_RGB if score >= 0 else OPPOSE_RGB
    return f"rgba({red},{green},{blue},{alpha:.3f})"


def scale_bar_html(explanation: Explanation, scale: float) -> str:
    """A small colour bar for one row: the colour at each end of the range, the range and the unit."""
    unit = html.escape(explanation.params.get("unit", "score"))
    full = f"{scale:.3g}"
    if explanation.signed:
        gradient = f"{chip_color(-scale, scale)},rgba(255,255,255,1),{chip_color(scale, scale)}"
        ends = (f"−{full} (opposes)", f"+{full} (supports) {unit}")
    else:
        gradient = f"rgba(255,255,255,1),{chip_color(scale, scale, signed=False)}"
        ends = ("0", f"{full} {unit}")
    return (f'<div class="ml-bar" data-unit="{unit}"><span>{ends[0]}</span>'
            f'<span class="ml-grad" style="background:linear-gradient(to right,{gradient})"></span>'
            f"<span>{ends[1]}</span></div>")


def _tooltip(explanation: Explanation, index: int) -> str:
    unit = explanation.params.get("unit", "score")
    lines = [f"{explanation.words[index]}: {explanation.scores[index]:+.4f} ({unit})"]
    errors = explanation.details.get("score_se") if explanation.params.get("mode") == "budgeted" else None
    if errors and index < len(errors):
        lines[0] += f" ± {errors[index]:.4f} (standard error of the budgeted estimate)"
    candidates = explanation.details.get("candidates")
    if candidates and index < len(candidates) and candidates[index]:
        lines.append(f"top candidates (likelihood, p({explanation.target_name})):")
        lines += [f"  {c['word']}  {c['likelihood']:.3f}  {c['prob']:.3f}" for c in candidates[index]]
    return "\n".join(lines)


def row_html(explanation: Explanation, scale: float) -> str:
    """One explanation as a line of coloured word chips (HTML fragment)."""
    chips = []
    for index, (word, score) in enumerate(zip(explanation.words, explanation.scores)):
        alpha = min(abs(score) / scale, 1.0) if scale > 0 else 0.0
        text_color = "#fff" if alpha > 0.6 else "#111"
        chips.append(
            f'<span class="ml-chip" data-score="{score:.6g}" title="{html.escape(_tooltip(explanation, index))}" '
            f'style="background:{chip_color(score, scale, explanation.signed)};color:{text_color}">'
            f"{html.escape(word)}</span>")
    return f'<div class="ml-row" data-method="{html.escape(explanation.method)}">{" ".join(chips)}</div>'


STYLE = ("<style>.ml-row{line-height:2.2;margin:4px 0}.ml-chip{padding:3px 6px;border-radius:6px;"
         "border:1px solid #ddd;font-family:sans-serif;font-size:15px;white-space:nowrap}"
         ".ml-label{font:600 13px sans-serif;color:#444;margin-top:8px}"
         ".ml-bar{display:flex;align-items:center;gap:6px;font:12px sans-serif;color:#555}"
         ".ml-grad{display:inline-block;width:120px;height:10px;border:1px solid #ccc;border-radius:3px}</style>")


def mode_note(explanation) -> str:
    """``"; budgeted: ≤ B passes per word, mean SE s"`` for a budgeted marginalization, ``"; exact"`` for an exact
    one, else empty (HTML-safe)."""
    mode = explanation.params.get("mode")
    if mode == "exact":
        return "; exact"
    if mode != "budgeted":
        return ""
    errors = explanation.details.get("score_se") or [0.0]
    return (f"; budgeted: ≤ {int(explanation.params['budget'])} classifier passes per word, mean standard error "
            f"{sum(errors) / len(errors):.3f} {html.escape(explanation.params.get('unit', ''))}")


def heatmap_html(explanations: Sequence[Explanation], shared_scale: bool = True, standalone: bool = False) -> str:
    """All explanations as labelled rows of word chips.

    Args:
        explanations: rows to draw (usually one per method, same text).
        shared_scale: one colour scale for all rows, else one per row.
        standalone: wrap in a full HTML document (for download).

    Returns:
        An HTML string with inline styles (no scripts, no external resources).
    """
    scales = score_scale(explanations, shared_scale)
    rows = []
    for explanation, scale in zip(explanations, scales):
        probs = ", ".join(f"{p:.3f}" for p in explanation.probs)
        unit = html.escape(explanation.params.get("unit", "score"))
        what = (f"explains “{html.escape(explanation.target_name)}”" if explanation.signed
                else "unsigned, the same for every class")
        label = f"{html.escape(explanation.method)} — {what}; {unit}; p = [{probs}]{mode_note(explanation)}"
        rows.append(f'<div class="ml-label">{label}</div>{scale_bar_html(explanation, scale)}'
                    f"{row_html(explanation, scale)}")
    body = STYLE + "\n".join(rows)
    if not standalone:
        return body
    return f'<!doctype html><html><head><meta charset="utf-8"><title>MaskLens explanation</title></head><body>{body}</body></html>'
