"""Heatmap HTML: colours by sign and magnitude, scales shared per unit, escaping, tooltips."""

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
    assert "&lt;b&gt;  0.500  0.250" in html
    assert 'data-method="marginal"' in html
    assert heatmap_html([row], standalone=True).startswith("<!doctype html>")


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
    exact = make("marginal", [1.5])
    exact.params["mode"] = "exact"
    assert "; exact" in heatmap_html([exact]) and "±" not in heatmap_html([exact])
    assert "budgeted" not in heatmap_html([make("zero", [1.0])])
