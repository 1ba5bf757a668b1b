"""Heatmap HTML: colours by sign and magnitude, scales shared per unit (across models too), escaping,
tooltips."""

from core.explain.base import Explanation
from core.viz.heatmap import chip_color, heatmap_html, score_scale


def make(method, scores, unit="log2 odds", signed=True, details=None):
    return Explanation(text="x", words=[f"w{i}" for i in range(len(scores))], scores=scores, method=method,
                       target=0, target_name="neg", probs=[0.7, 0.3], predicted=0, params={"unit": unit},
                       signed=signed, details=details or {})


def test_chip_colour_is_red_for_support_blue_for_opposition_with_alpha_by_magnitude():
    assert chip_color(2.0, 4.0) == "rgba(214,39,40,0.500)"
    assert chip_color(-4.0, 4.0) == "rgba(31,119,180,1.000)"
    assert chip_color(9.0, 4.0).endswith("1.000)")  # clipped
    assert chip_color(0.0, 4.0).endswith("0.000)")


def test_shared_scale_is_shared_within_a_unit_only():
    rows = [make("zero", [1.0, -3.0]), make("marginal", [2.0]), make("vmask", [0.2, 0.9], "keep probability", False)]
    assert score_scale(rows, shared=True) == [3.0, 3.0, 0.9]
    assert score_scale(rows, shared=False) == [3.0, 2.0, 0.9]
    assert score_scale([make("zero", [0.0])], shared=True) == [1.0]


def test_html_escapes_words_and_shows_candidates_on_hover():
    row = make("marginal", [1.5], details={"candidates": [[{"word": "<b>", "likelihood": 0.5, "prob": 0.25}]]})
    row.words = ["<script>"]
    html = heatmap_html([row])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<span>&lt;b&gt;</span><span>0.500</span><span>0.250</span>" in html  # the candidate, escaped, in the tip
    label = "&lt;script&gt;: +1.5000 (log2 odds); top candidates (likelihood, p(neg)): &lt;b&gt; 0.500 0.250"
    assert f'aria-label="{label}"' in html
    assert 'data-method="marginal"' in html
    assert heatmap_html([row], standalone=True).startswith("<!doctype html>")


def chips(html: str) -> list[str]:
    """Each chip's markup (from its opening tag to the next chip or the row's end)."""
    return [part.split("</div>")[0] for part in html.split('<span class="ml-chip"')[1:]]


def test_every_chip_is_focusable_with_a_styled_tooltip_and_no_title():
    candidates = [[{"word": "great", "likelihood": 0.4, "prob": 0.9}, {"word": "fine", "likelihood": 0.2,
                                                                         "prob": 0.6}], []]
    row = make("marginal", [1.25, -0.5], details={"candidates": candidates})
    row.target_name = 'neg "&"'
    html = heatmap_html([row, make("vmask", [0.8, 0.1], "keep probability", False)])
    assert "title=" not in html.split("</style>")[1]  # no browser title tooltip anywhere
    marginal, second, *vmask = chips(html)
    assert len(vmask) == 2
    for chip in (marginal, second, *vmask):
        assert ' tabindex="0"' in chip and " aria-label=" in chip and '<span class="ml-tip" aria-hidden="true">' in chip
    tip = marginal.split('<span class="ml-tip"')[1]
    assert "<b>w0</b> +1.2500 (log2 odds)" in tip
    assert "<b>p(neg &quot;&amp;&quot;)</b>" in tip  # the class name escaped
    assert "<span>great</span><span>0.400</span><span>0.900</span><span>fine</span><span>0.200</span>" in tip
    assert "top candidates (likelihood, p(neg &quot;&amp;&quot;)): great 0.400 0.900, fine 0.200 0.600" in marginal
    assert "ml-cands" not in second and 'aria-label="w1: -0.5000 (log2 odds)"' in second  # no candidates: none
    assert '<b>w0</b> 0.8000 (keep probability)' in vmask[0]  # unsigned: no sign
    assert 'aria-label="w1: 0.1000 (keep probability)"' in vmask[1]
    # the tooltip opens on hover, keyboard focus and a tap (focus), from CSS alone
    assert ".ml-chip:hover .ml-tip,.ml-chip:focus .ml-tip,.ml-chip:focus-within .ml-tip{display:block}" in html
    assert ".ml-tip{display:none;" in html and "<script" not in html


def test_one_scale_spans_the_rows_of_two_models_per_unit():
    first = [make("zero", [1.0, -2.0]), make("vmask", [0.5], "keep probability", False)]
    second = [make("zero", [4.0]), make("marginal", [-8.0]), make("lime", [0.3], "probability")]
    everything = first + second
    assert score_scale(first, shared=True, scale_from=everything) == [8.0, 0.5]  # log2 odds from both models
    assert score_scale(second, shared=True, scale_from=everything) == [8.0, 8.0, 0.3]
    assert score_scale(first, shared=True) == [2.0, 0.5]  # without: the first model's rows alone
    assert score_scale(first, shared=False, scale_from=everything) == [2.0, 0.5]  # per row stays per row
    html = heatmap_html(first, shared_scale=True, scale_from=everything)
    assert "+8 (supports) log2 odds" in html and 'data-score="-2" aria-label' in html
    assert chip_color(-2.0, 8.0) in html  # coloured on the shared scale, not its own
    standalone = heatmap_html(first, shared_scale=True, standalone=True, scale_from=everything)
    assert "+8 (supports) log2 odds" in standalone and "ml-tip" in standalone  # the download is the same markup


def test_word_alignment_note_says_when_two_models_read_different_words():
    from core.viz.heatmap import word_alignment_note

    words = ["a", "great", "film"]
    assert word_alignment_note("m1", words, "m2", list(words)) is None
    note = word_alignment_note("long", words + ["indeed"], "short", words)
    assert note.startswith("short reads only the first 3 of the 4 words long reads") and "“indeed”" in note
    note = word_alignment_note("m1", words, "m2", ["a", "great", "film!"])
    assert "split the text into different words" in note and "word 3: “film” vs “film!”" in note


def test_unsigned_rows_get_their_own_colour_map_and_every_row_a_scale_bar():
    from core.viz.heatmap import UNSIGNED_RGB

    assert chip_color(0.5, 1.0, signed=False) == f"rgba({UNSIGNED_RGB[0]},{UNSIGNED_RGB[1]},{UNSIGNED_RGB[2]},0.500)"
    signed = make("zero", [1.0, -2.0])
    unsigned = make("vmask", [0.9, 0.4], unit="keep probability", signed=False)
    body = heatmap_html([signed, unsigned], shared_scale=False)
    zero_row = body.split('data-method="zero"')[1].split("</div>")[0]
    vmask_row = body.split('data-method="vmask"')[1]
    assert "rgba(214,39,40" not in vmask_row and "rgba(106,61,154" in vmask_row  # never red: it has no direction
    assert "rgba(214,39,40" in zero_row and "rgba(31,119,180" in zero_row
    assert body.count('class="ml-bar"') == 2
    assert 'data-unit="keep probability"' in body and "0.9 keep probability" in body
    assert "+2 (supports) log2 odds" in body


def test_a_budgeted_marginalization_row_says_so_and_shows_each_standard_error():
    budgeted = make("marginal", [1.5, -0.5], details={"score_se": [0.1, 0.3]})
    budgeted.params.update(mode="budgeted", budget=256)
    html = heatmap_html([budgeted])
    assert "budgeted: ≤ 256 classifier passes per word, mean standard error 0.200 log2 odds" in html
    assert "+1.5000 (log2 odds) ± 0.1000" in html and "-0.5000 (log2 odds) ± 0.3000" in html
    first = chips(html)[0]
    assert 'aria-label="w0: +1.5000 (log2 odds) ± 0.1000 (standard error of the budgeted estimate)"' in first
    assert ('<b>w0</b> +1.5000 (log2 odds) ± 0.1000 <span class="ml-tip-note">standard error of the budgeted '
            "estimate</span>") in first  # in the tooltip too
    exact = make("marginal", [1.5])
    exact.params["mode"] = "exact"
    assert "; exact" in heatmap_html([exact]) and "±" not in heatmap_html([exact])
    assert "budgeted" not in heatmap_html([make("zero", [1.0])])
