"""Dataset importance: class association, word clouds, the frequency scatter and the page under AppTest."""

from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

from core.metrics.association import class_association
from core.viz.importance import (CHAR_PIXELS, CLOUD_MIN_COUNT, LINE_PIXELS, cloud_words, frequency_importance_figure,
                                 place_labels, word_cloud_image, word_cloud_png)
from tests.test_app import APP

TIMEOUT = 180
PAGE = "pages/2_Dataset_importance.py"
SHIPPED_MASK_MODELS = {"cnn-vmask-movie-snippets", "cnn-iba-movie-snippets", "cnn-l2x-movie-snippets",
                       "lstm-vmask-movie-snippets", "cnn-vmask-trec6", "minilm-evarm-movie-snippets",
                       "minilm-evarm_mask-movie-snippets",
                       "minilm-vmask-movie-snippets"}

# pos: "good good bad", "good fun"; neg: "bad awful", "bad" -> N_pos = 5, N_neg = 3, V = 4.
TEXTS = ["good good bad", "good fun", "bad awful", "bad"]
LABELS = [1, 1, 0, 0]
NAMES = ["neg", "pos"]


def test_class_association_counts_and_log_odds_by_hand():
    table = class_association(TEXTS, LABELS, NAMES)
    assert list(table["word"]) == ["bad", "good", "awful", "fun"]
    rows = table.set_index("word")
    assert rows.loc["good", "count"] == 3 and rows.loc["good", "count: pos"] == 3
    assert rows.loc["good", "count: neg"] == 0
    assert rows.loc["bad", "count"] == 3 and rows.loc["bad", "count: pos"] == 1 and rows.loc["bad", "count: neg"] == 2
    assert rows.loc["good", "class"] == "pos"
    assert rows.loc["good", "log_odds"] == pytest.approx(math.log(4 / 9) - math.log(1 / 7))
    assert rows.loc["bad", "class"] == "neg"
    assert rows.loc["bad", "log_odds"] == pytest.approx(math.log(3 / 7) - math.log(2 / 9))
    assert rows.loc["awful", "class"] == "neg"
    assert rows.loc["awful", "log_odds"] == pytest.approx(math.log(2 / 7) - math.log(1 / 9))


def test_class_association_string_labels_min_count_and_errors():
    by_name = class_association(TEXTS, ["pos", "pos", "neg", "neg"], NAMES, min_count=2)
    assert list(by_name["word"]) == ["bad", "good"]
    assert by_name.equals(class_association(TEXTS, LABELS, NAMES).head(2))
    with pytest.raises(ValueError):
        class_association(TEXTS, LABELS[:3], NAMES)
    with pytest.raises(ValueError):
        class_association(TEXTS, ["pos", "pos", "neg", "meh"], NAMES)


def test_word_cloud_png_is_png_and_deterministic():
    words, scores = ["good", "bad", "plot", "film", "zero"], [0.9, 0.8, 0.3, 0.1, 0.0]
    png = word_cloud_png(words, scores, top_k=4, width=200, height=100, seed=3)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png == word_cloud_png(words, scores, top_k=4, width=200, height=100, seed=3)
    assert word_cloud_image(words, scores, width=200, height=100).size == (200, 100)
    with pytest.raises(ValueError):
        word_cloud_png(["a"], [0.0])


def _shipped_importance(name: str = "cnn-vmask-movie-snippets") -> dict:
    import json

    from core import paths

    return json.loads((paths.SHIPPED_CHECKPOINTS_DIR / name / "config.json").read_text())["global_importance"]


def test_the_default_minimum_count_gives_a_cloud_of_task_words():
    importance = _shipped_importance()
    count = dict(zip(importance["words"], importance["counts"]))
    cloud = cloud_words(importance["words"], importance["scores"], importance["counts"])  # the page's default
    assert CLOUD_MIN_COUNT == 20 and all(count[w] >= CLOUD_MIN_COUNT for w in cloud)
    assert {"dull", "wonderful", "boring", "enjoyable"} <= set(cloud)  # sentiment words are in the 100
    assert {"enjoyable", "tedious", "boring"} <= set(cloud[:10])
    assert not {"seaworthy", "damsel"} & set(cloud)
    seen_once = cloud_words(importance["words"], importance["scores"], importance["counts"], min_count=1)
    assert not {"dull", "boring"} & set(seen_once[:30])  # without the filter the task words are not in the lead


def test_frequency_importance_figure_marks_top_words_and_shows_r():
    import pandas as pd

    table = pd.DataFrame({"word": [f"w{i}" for i in range(30)], "frequency": list(range(1, 31)),
                          "importance": [((i * 7) % 30) / 30 for i in range(30)]})
    fig = frequency_importance_figure(table, top_k=10, title="toy", pearson_r=0.0123)
    names = [trace.name for trace in fig.data]
    assert names == ["all words", "top-10 important", "top-10 frequent"]
    assert "r = 0.012" in fig.layout.title.text
    assert fig.layout.xaxis.type == "log"
    assert set(fig.data[2].text) == {f"w{i}" for i in range(20, 30)}
    assert len(fig.data[1].text) == 10 and len(fig.data[0].x) == 30
    auto = frequency_importance_figure(table, top_k=10)
    assert "Pearson r = " in auto.layout.title.text and "nan" not in auto.layout.title.text
    labels = [a.text for a in fig.layout.annotations]
    assert len(labels) == len(set(labels)) == len(set(fig.data[1].text) | set(fig.data[2].text))  # each word once
    assert fig.data[1].mode == "markers"  # the words are annotations, spread apart, not text at the marker


def _boxes(points, texts, offsets):
    return [(x + dx - (CHAR_PIXELS * len(t) + 4) / 2, y + dy - LINE_PIXELS / 2,
             x + dx + (CHAR_PIXELS * len(t) + 4) / 2, y + dy + LINE_PIXELS / 2)
            for (x, y), t, (dx, dy) in zip(points, texts, offsets)]


def _overlapping(boxes) -> list[tuple[int, int]]:
    return [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes[:i])
            if min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])]


def test_labels_of_a_tight_cluster_do_not_overlap():
    points = [(300 + 3 * i, 150 + 2 * (i % 3)) for i in range(10)]  # ten points within 30 x 5 pixels
    texts = ["enjoyable", "engrossing", "forgettable", "gorgeous", "tedious", "boring", "uneven", "mildly",
             "thoroughly", "refreshing"]
    offsets = place_labels(points, texts)
    assert _overlapping(_boxes(points, texts, offsets)) == []
    assert all(abs(dx) + abs(dy) > 0 for dx, dy in offsets)  # none left on its point


def test_the_shipped_scatter_labels_do_not_overlap():
    import json

    import numpy as np

    from core import paths
    from core.metrics.importance import frequency_importance
    from core.viz.importance import _to_pixels

    importance = json.loads((paths.SHIPPED_CHECKPOINTS_DIR / "cnn-vmask-movie-snippets" / "config.json").read_text()
                            )["global_importance"]
    table = frequency_importance(importance["words"], importance["scores"], importance["counts"]).table
    fig = frequency_importance_figure(table, top_k=10)
    notes = fig.layout.annotations
    data = table[table["frequency"] > 0]
    points = _to_pixels([10 ** a.x for a in notes], [a.y for a in notes], data)
    boxes = _boxes(points, [a.text for a in notes], [(a.ax, a.ay) for a in notes])
    assert len(notes) >= 15 and _overlapping(boxes) == []
    assert np.allclose([10 ** a.x for a in notes[:10]], fig.data[1].x)  # log axis: x is log10(frequency)


@pytest.fixture
def importance_page(masklens_home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return at.switch_page(PAGE).run()


def test_page_with_default_models(importance_page):
    at = importance_page
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Dataset-level word importance"
    assert at.selectbox[0].value == "cnn-vmask-movie-snippets"
    assert at.selectbox[1].value == "cnn-iba-movie-snippets"
    assert len(at.get("image")) == 2
    assert len(at.get("plotly_chart")) == 1
    assert len(at.dataframe) == 1
    table = at.dataframe[0].value
    assert list(table.columns) == ["word", "frequency", "importance", "class", "log_odds"]
    assert set(table["class"].dropna()) <= {"negative", "positive"}
    assert any("Pearson r" in m.value for m in at.markdown)
    assert any("-0.08" in c.value for c in at.caption)
    assert len(at.get("download_button")) == 3
    box = at.number_input(key="imp_min_count")
    assert box.value == CLOUD_MIN_COUNT == 20 and "Default 20" in box.help and "dull" in box.help


def test_only_mask_models_are_listed(importance_page):
    at = importance_page
    assert set(at.selectbox[0].options) == SHIPPED_MASK_MODELS
    assert set(at.selectbox[1].options) == {"(none)"} | SHIPPED_MASK_MODELS - {"cnn-vmask-movie-snippets"}


def test_filter_single_model_and_trec(importance_page):
    at = importance_page
    at.text_input(key="importance_filter").input("sloppy").run()
    assert not at.exception and not at.error
    assert all("sloppy" in w for w in at.dataframe[0].value["word"]) and len(at.dataframe[0].value) >= 1
    at.selectbox[1].select("(none)").run()
    assert len(at.get("image")) == 1
    at.selectbox[0].select("cnn-vmask-trec6").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) == 1


def test_page_without_mask_models(masklens_home, monkeypatch):
    import core.registry

    monkeypatch.setattr(core.registry, "list_models", lambda include_user=True, problems=None: [])
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("No mask model" in i.value for i in at.info)
    assert not at.get("image")


def test_frequent_words_filters_by_training_count():
    from core.metrics.importance import frequent_words

    words, scores = frequent_words(["rare", "common", "mid"], [0.9, 0.8, 0.7], [1, 50, 5], min_count=5)
    assert words == ["common", "mid"] and scores == [0.8, 0.7]
    with pytest.raises(ValueError, match="at least 1"):
        frequent_words(["a"], [1.0], [1], min_count=0)


def test_the_shipped_vmask_cloud_is_led_by_words_seen_several_times():
    import json

    from core import paths
    from core.metrics.importance import DEFAULT_MIN_COUNT, frequent_words

    importance = json.loads((paths.SHIPPED_CHECKPOINTS_DIR / "cnn-vmask-movie-snippets" / "config.json").read_text()
                            )["global_importance"]
    words, _ = frequent_words(importance["words"], importance["scores"], importance["counts"])
    count = dict(zip(importance["words"], importance["counts"]))
    assert DEFAULT_MIN_COUNT >= 3 and all(count[w] >= DEFAULT_MIN_COUNT for w in words[:10])
    # the mask is not saturated: the median keep probability over training occurrences is well below 1
    import numpy as np

    assert np.median(np.repeat(importance["scores"], importance["counts"])) < 0.9
