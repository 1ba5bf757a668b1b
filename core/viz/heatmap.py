"""Word chips coloured by attribution, as self-contained HTML.

Signed scores: red means the word supports the explained class, blue that it opposes it.
Unsigned importances (a mask's keep probability, attention, global importance) have no
direction, so they get their own sequential colour (purple) instead of red. Every row carries
a colour bar with its unit and range. The colour's intensity is the score's magnitude relative
to a scale that is either shared across all rows of a unit (compare methods, or two models, on
one footing) or per row (see each method's own ranking).

Each chip has a tooltip in plain HTML/CSS (no script: the page's ``st.html`` sanitises them): its
score with the unit (± the standard error for a budgeted marginalization) and, for input
marginalization, the top candidate words with their likelihood and class probability (the
paper's Figure 1). It opens on hover and on focus (chips have ``tabindex="0"``, so the keyboard
and a tap on a touch screen open it too); ``aria-label`` carries the same content as text.
"""

from __future__ import annotations

import html
from typing import Sequence

from core.explain.base import Explanation
from core.viz.palette import readable_text_color

SUPPORT_RGB = (214, 39, 40)   # red
OPPOSE_RGB = (31, 119, 180)   # blue
UNSIGNED_RGB = (106, 61, 154)  # purple: importance without a direction


def _row_max(explanation: Explanation) -> float:
    return max((abs(s) for s in explanation.scores), default=0.0) or 1.0


def score_scale(explanations: Sequence[Explanation], shared: bool,
                scale_from: Sequence[Explanation] | None = None) -> list[float]:
    """The magnitude that maps to full colour, one per explanation.

    Args:
        shared: one scale for all rows in the same unit (the largest |score| among
            them), so methods measured alike compare on one footing; rows in other
            units (e.g. VMASK keep probabilities next to log2 odds) keep their own.
            Otherwise one scale per row.
        scale_from: with ``shared``, further rows the scale spans besides ``explanations``
            (e.g. every row of two models shown side by side, so both use one scale per unit).

    Returns:
        A positive number per explanation (1.0 where every score is 0).
    """
    if not shared:
        return [_row_max(e) for e in explanations]
    unit_max: dict[str, float] = {}
    for row in [*explanations, *(scale_from or [])]:
        unit = row.params.get("unit", "")
        unit_max[unit] = max(unit_max.get(unit, 0.0), _row_max(row))
    return [unit_max[e.params.get("unit", "")] for e in explanations]


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


def _standard_error(explanation: Explanation, index: int) -> float | None:
    errors = explanation.details.get("score_se") if explanation.params.get("mode") == "budgeted" else None
    return errors[index] if errors and index < len(errors) else None


def _score_text(explanation: Explanation, index: int) -> str:
    """``"+1.2345 (log2 odds)"``, with ``" ± 0.1000"`` for a budgeted marginalization."""
    sign = "+" if explanation.signed else ""  # an unsigned importance has no direction to show
    text = f"{explanation.scores[index]:{sign}.4f} ({explanation.params.get('unit', 'score')})"
    error = _standard_error(explanation, index)
    return text if error is None else f"{text} ± {error:.4f}"


def _candidates(explanation: Explanation, index: int) -> list[dict]:
    candidates = explanation.details.get("candidates")
    return (candidates[index] or []) if candidates and index < len(candidates) else []


def tooltip_text(explanation: Explanation, index: int) -> str:
    """A chip's tooltip as plain text (its ``aria-label``): the score with its unit and the top candidates."""
    text = f"{explanation.words[index]}: {_score_text(explanation, index)}"
    if _standard_error(explanation, index) is not None:
        text += " (standard error of the budgeted estimate)"
    candidates = _candidates(explanation, index)
    if candidates:
        text += f"; top candidates (likelihood, p({explanation.target_name})): " + ", ".join(
            f"{c['word']} {c['likelihood']:.3f} {c['prob']:.3f}" for c in candidates)
    return text


def tooltip_html(explanation: Explanation, index: int) -> str:
    """A chip's tooltip box (escaped): score line, then a table of the top candidates, if any."""
    esc = html.escape
    score = esc(_score_text(explanation, index))
    if _standard_error(explanation, index) is not None:
        score += ' <span class="ml-tip-note">standard error of the budgeted estimate</span>'
    parts = [f'<span class="ml-tip-head"><b>{esc(explanation.words[index])}</b> {score}</span>']
    candidates = _candidates(explanation, index)
    if candidates:
        cells = ["<b>top candidates</b>", "<b>likelihood</b>", f"<b>p({esc(explanation.target_name)})</b>"]
        for c in candidates:
            cells += [esc(str(c["word"])), f"{c['likelihood']:.3f}", f"{c['prob']:.3f}"]
        parts.append('<span class="ml-cands">' + "".join(f"<span>{cell}</span>" for cell in cells) + "</span>")
    return f'<span class="ml-tip" aria-hidden="true">{"".join(parts)}</span>'


def row_html(explanation: Explanation, scale: float) -> str:
    """One explanation as a line of coloured, focusable word chips, each with its tooltip (HTML fragment)."""
    chips = []
    for index, (word, score) in enumerate(zip(explanation.words, explanation.scores)):
        background = chip_color(score, scale, explanation.signed)
        chips.append(
            f'<span class="ml-chip" tabindex="0" role="img" data-score="{score:.6g}" '
            f'aria-label="{html.escape(tooltip_text(explanation, index))}" '
            f'style="background:{background};color:{readable_text_color(background)}">'
            f'<span class="ml-word">{html.escape(word)}</span>{tooltip_html(explanation, index)}</span>')
    return (f'<div class="ml-row" data-method="{html.escape(explanation.method)}" '
            f'data-model="{html.escape(explanation.model_name)}">{" ".join(chips)}</div>')


STYLE = ("<style>.ml-row{line-height:2.2;margin:4px 0}.ml-chip{position:relative;padding:3px 6px;border-radius:6px;"
         "border:1px solid #ddd;font-family:sans-serif;font-size:15px;white-space:nowrap;cursor:default}"
         ".ml-chip:focus{outline:2px solid #333;outline-offset:1px}"
         # the tooltip: hidden until the chip is hovered or focused (keyboard, or a tap on a touch screen)
         ".ml-tip{display:none;position:absolute;left:0;top:calc(100% + 4px);z-index:1000;width:max-content;"
         "max-width:320px;padding:6px 8px;border-radius:6px;background:#222;color:#fff;font:13px/1.4 sans-serif;"
         "white-space:normal;text-align:left;box-shadow:0 2px 8px rgba(0,0,0,.3)}"
         ".ml-chip:hover .ml-tip,.ml-chip:focus .ml-tip,.ml-chip:focus-within .ml-tip{display:block}"
         ":root:has(.ml-chip:hover) .ml-chip:not(:hover) .ml-tip{display:none}"  # hovering another: that one only
         # chips at the end of a row open their tooltip leftwards, so it stays inside the column
         ".ml-chip:nth-last-child(-n+3):not(:nth-child(-n+3)) .ml-tip{left:auto;right:0}"
         ".ml-tip-head{display:block}.ml-tip-note{color:#bbb;font-size:12px}"
         ".ml-cands{display:grid;grid-template-columns:auto auto auto;gap:0 10px;margin-top:4px}"
         ".ml-cands span:nth-child(3n+2),.ml-cands span:nth-child(3n){text-align:right}"
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


def method_label(method: str) -> str:
    """The explainer's declared label (``zero erasure``), as the pages' pickers show it; the name if unregistered."""
    from core.explain.registry import EXPLAINERS

    explainer = EXPLAINERS.get(method)
    return explainer.label if explainer is not None else method


def heatmap_html(explanations: Sequence[Explanation], shared_scale: bool = True, standalone: bool = False,
                 scale_from: Sequence[Explanation] | None = None) -> str:
    """All explanations as labelled rows of word chips.

    Args:
        explanations: rows to draw (usually one per method, same text).
        shared_scale: one colour scale for all rows of a unit, else one per row.
        standalone: wrap in a full HTML document (for download).
        scale_from: with ``shared_scale``, more rows the shared scale spans (e.g. a second
            model's rows shown beside these: :func:`score_scale`).

    Returns:
        An HTML string with inline styles (no scripts, no external resources).
    """
    scales = score_scale(explanations, shared_scale, scale_from)
    rows = []
    for explanation, scale in zip(explanations, scales):
        probs = ", ".join(f"{p:.3f}" for p in explanation.probs)
        unit = html.escape(explanation.params.get("unit", "score"))
        what = (f"explains “{html.escape(explanation.target_name)}”" if explanation.signed
                else "unsigned, the same for every class")
        name = html.escape(method_label(explanation.method))
        label = f"{name} — {what}; {unit}; p = [{probs}]{mode_note(explanation)}"
        rows.append(f'<div class="ml-label">{label}</div>{scale_bar_html(explanation, scale)}'
                    f"{row_html(explanation, scale)}")
    body = STYLE + "\n".join(rows)
    if not standalone:
        return body
    return ('<!doctype html><html><head><meta charset="utf-8"><title>MaskLens explanation</title></head>'
            f"<body>{body}</body></html>")


def word_alignment_note(name_a: str, words_a: Sequence[str], name_b: str, words_b: Sequence[str]) -> str | None:
    """None when two models' rows show the same words (one chip per word in both), else what differs.

    Both models explain the same text, but each reads it through its own tokenizer and length
    limit: one may truncate the text, or split it into other words.
    """
    if list(words_a) == list(words_b):
        return None
    short, long_ = sorted([(name_a, list(words_a)), (name_b, list(words_b))], key=lambda item: len(item[1]))
    if long_[1][:len(short[1])] == short[1]:
        return (f"{short[0]} reads only the first {len(short[1])} of the {len(long_[1])} words {long_[0]} reads "
                f"(it truncates the text): its rows have no chip for “{long_[1][len(short[1])]}” and after.")
    first = next(i for i, (a, b) in enumerate(zip(words_a, words_b)) if a != b)
    return (f"The two models split the text into different words ({name_a}: {len(words_a)}, {name_b}: "
            f"{len(words_b)}), so their chips do not match one to one; the first difference is word {first + 1}: "
            f"“{words_a[first]}” vs “{words_b[first]}”.")
