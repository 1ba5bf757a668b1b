"""Pair drawings: GMASK's group figure (nodes, word-to-group lines, hover), the groups table, chip colours."""

from __future__ import annotations

import re

import plotly.graph_objects as go
import pytest

from core.explain.base import PairExplanation
from core.viz.palette import readable_text_color
from core.viz.pairs import chip, group_table, groups_figure, pair_rows_html

WORDS_A, WORDS_B = ["who", "wrote", "hamlet", "?"], ["who", "painted", "it"]


def member(side: str, index: int, prob: float) -> dict:
    return {"side": side, "index": index, "word": (WORDS_A if side == "a" else WORDS_B)[index], "prob": prob}


def near_uniform_groups() -> list[dict]:
    """Four groups over five words whose probabilities are all below 0.3 (as minilm-sim gives): only G1 and G2
    are some word's most probable group."""
    keys = [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]
    probs = [[0.28, 0.24, 0.24, 0.24], [0.26, 0.25, 0.25, 0.24], [0.25, 0.27, 0.24, 0.24],
             [0.26, 0.26, 0.24, 0.24], [0.24, 0.29, 0.24, 0.23]]
    return [{"group": g, "importance": psi, "words": sorted((member(s, i, p[g]) for (s, i), p in zip(keys, probs)),
                                                        key=lambda m: -m["prob"])}
            for g, psi in zip(range(4), [0.53, 0.27, 0.19, 0.01])]


def pair(groups=None, scores=None, method="gmask", signed=False, unit="weighted attribution") -> PairExplanation:
    n = len(WORDS_A) + len(WORDS_B)
    return PairExplanation(text="who wrote hamlet ?", words=WORDS_A + WORDS_B, scores=scores or [0.1] * n,
                           method=method, target=1, target_name="same type", probs=[0.25, 0.75], predicted=1,
                           params={"unit": unit}, signed=signed, text_b="who painted it", n_words_a=len(WORDS_A),
                           groups=near_uniform_groups() if groups is None else groups)


def traces(fig: go.Figure, kind: str) -> list:
    return [t for t in fig.data if (t.meta or {}).get("kind") == kind]


def test_groups_figure_has_a_node_per_group_and_a_line_per_word_and_group_with_its_probability():
    explanation = pair()
    fig = groups_figure(explanation)
    nodes = traces(fig, "groups")
    assert len(nodes) == 1 and len(nodes[0].x) == 4
    assert [t.split("<br>")[0] for t in nodes[0].text] == ["G1", "G2", "G3", "G4"]
    assert list(nodes[0].marker.color) == [0.53, 0.27, 0.19, 0.01]         # colour (and size) by importance
    assert nodes[0].marker.size[0] > nodes[0].marker.size[-1]
    assert "importance ψ = 0.53" in nodes[0].hovertext[0]
    links = traces(fig, "link")
    expected = {(m["side"], m["index"], rank, m["prob"])
                for rank, g in enumerate(explanation.groups) for m in g["words"]}
    assert len(links) == 20 == len(expected)
    assert {(t.meta["side"], t.meta["index"], t.meta["group"], t.meta["prob"]) for t in links} == expected
    strong = next(t for t in links if t.meta["prob"] == 0.29)
    weak = next(t for t in links if t.meta["prob"] == 0.23)
    assert strong.line.width > weak.line.width
    assert strong.text == "B:painted in G2: φ = 0.290"
    hover = traces(fig, "link-hover")[0]                                   # each line's numbers at its middle
    assert len(hover.x) == 20 and "B:painted in G2: φ = 0.290" in hover.hovertext
    middle = list(hover.hovertext).index(strong.text)
    assert (hover.x[middle], hover.y[middle]) == (sum(strong.x) / 2, sum(strong.y) / 2)
    # each line runs from its word's dot to its group's node
    words = {(t.meta["side"], x): y for t in traces(fig, "words") for x, y in zip(t.x, t.y)}
    assert all((t.x[0], t.y[0]) in {(x, y) for (_, x), y in words.items()} for t in links)
    assert all((t.x[-1], t.y[-1]) in set(zip(nodes[0].x, nodes[0].y)) for t in links)


def test_groups_figure_shows_the_words_of_both_texts_a_on_top_with_hover():
    fig = groups_figure(pair())
    by_side = {t.meta["side"]: t for t in traces(fig, "words")}
    assert list(by_side["a"].text) == ["who", "wrote", "hamlet"] and list(by_side["b"].text) == ["who", "painted"]
    assert min(by_side["a"].y) > max(traces(fig, "groups")[0].y) > max(by_side["b"].y)
    assert by_side["a"].hovertext[1] == "text A, word 2: wrote<br>most probable in G1"
    assert list(fig.layout.yaxis.ticktext) == ["text B", "groups", "text A"]


def test_groups_figure_without_groups_is_empty_with_a_note():
    fig = groups_figure(pair(groups=[]))
    assert not fig.data and "no groups" in fig.layout.annotations[0].text


def test_groups_table_lists_words_for_every_group_even_below_the_threshold():
    rows = group_table(pair())
    assert [r["group"] for r in rows] == ["G1", "G2", "G3", "G4"]
    assert all(r["words"] for r in rows), rows
    assert rows[0]["words"] == "A:who (0.28), A:wrote (0.26), B:who (0.26)"  # words most probable in G1
    assert rows[1]["words"] == "B:painted (0.29), A:hamlet (0.27)"
    assert rows[2]["words"] == "A:wrote (0.25)"                                # nobody's best: its top word
    listed = {w.split(" ")[0] for r in rows for w in r["words"].split(", ")}
    assert listed >= {"A:who", "A:wrote", "A:hamlet", "B:who", "B:painted"}  # every word in some group


def test_groups_table_lists_every_word_above_the_threshold():
    groups = [{"group": 0, "importance": 0.9, "words": [member("a", 0, 0.9), member("b", 1, 0.5)]},
              {"group": 1, "importance": 0.1, "words": [member("b", 1, 0.5), member("a", 0, 0.1)]}]
    rows = group_table(pair(groups=groups))
    assert rows[0]["words"] == "A:who (0.90), B:painted (0.50)" and rows[1]["words"] == "B:painted (0.50)"


@pytest.mark.parametrize("background, text", [
    ("rgba(120,120,120,0.700)", "#111"),   # the light grey a user could not read white on
    ("rgba(106,61,154,0.650)", "#111"),    # mid purple over white is still light
    ("rgba(106,61,154,1.000)", "#fff"),
    ("rgba(31,119,180,1.000)", "#fff"),
    ("rgba(214,39,40,0.200)", "#111"),
    ("rgb(255,255,255)", "#111"),
    ("rgb(63,0,125)", "#fff"),
])
def test_chip_text_colour_follows_the_background_luminance(background, text):
    assert readable_text_color(background) == text


def test_a_chip_takes_its_text_colour_from_its_own_background():
    light = chip("who", 0.3, 1.0, "a", "log2 odds", signed=True)
    dark = chip("who", 1.0, 1.0, "a", "log2 odds", signed=True)
    assert "background:rgba(214,39,40,0.300);color:#111" in light
    assert "background:rgba(214,39,40,1.000);color:#fff" in dark


def test_unsigned_rows_are_sequential_signed_rows_red_blue_and_every_row_has_a_colour_bar():
    gmask = pair(scores=[0.9, 0.1, 0.5, 0.0, 0.2, 0.7, 0.3])
    zero = pair(scores=[2.0, -1.0, 0.5, 0.0, -2.0, 1.0, 0.1], method="zero", signed=True, unit="log2 odds")
    body = pair_rows_html([gmask, zero], shared_scale=False)
    gmask_rows = body.split('data-method="gmask"')[1].split('class="ml-label"')[0]
    zero_rows = body.split('data-method="zero"')[1]
    assert "rgba(106,61,154" in gmask_rows
    assert "rgba(214,39,40" not in gmask_rows and "rgba(31,119,180" not in gmask_rows
    assert "rgba(214,39,40" in zero_rows and "rgba(31,119,180" in zero_rows
    bar = r'<div class="ml-bar" data-unit="([^"]+)"><span>([^<]+)</span>.*?<span>([^<]+)</span></div>'
    bars = re.findall(bar, body)
    assert bars == [("weighted attribution", "0", "0.9 weighted attribution"),
                    ("log2 odds", "−2 (opposes)", "+2 (supports) log2 odds")]


def test_probabilities_are_stated_once_and_only_in_the_standalone_document():
    rows = [pair(), pair(method="imask")]
    assert "0.750" not in pair_rows_html(rows)
    document = pair_rows_html(rows, standalone=True, label_names=["different type", "same type"])
    assert document.count("p(same type) = 0.750") == 1 and document.count("0.750") == 1
