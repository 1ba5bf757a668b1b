"""The Sentence pairs page under AppTest: default pair with GMASK groups, exports, and bad input messages."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app import APP

TIMEOUT = 180


@pytest.fixture
def pairs_page(masklens_home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return at.switch_page("pages/6_Sentence_pairs.py").run()


def html_of(at: AppTest) -> str:
    return "".join(element.proto.body for element in at.get("html"))


def set_texts(at: AppTest, text_a: str, text_b: str) -> AppTest:
    at.text_area(key="pair_text_a").input(text_a)
    at.text_area(key="pair_text_b").input(text_b)
    return at.run()


def test_default_pair_shows_chips_a_plotly_group_diagram_probabilities_once_and_exports(pairs_page):
    at = pairs_page
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    body = html_of(at)
    methods = re.findall(r'class="ml-prow" data-method="(\w+)" data-side="(\w)"', body)
    assert methods == [("gmask", "a"), ("gmask", "b"), ("imask", "a"), ("imask", "b"), ("zero", "a"), ("zero", "b")]
    rows = re.findall(r'class="ml-prow" data-method="(\w+)" data-side="\w">(.*?)</div>', body)
    unsigned = "".join(chips for method, chips in rows if method != "zero")
    signed = "".join(chips for method, chips in rows if method == "zero")
    assert "rgba(106,61,154" in unsigned and "rgba(214,39,40" not in unsigned  # GMASK, IMASK: sequential purple
    assert "rgba(214,39,40" in signed or "rgba(31,119,180" in signed            # zero erasure: red/blue
    assert body.count('class="ml-bar"') == 3                                   # a colour bar per method
    assert "<svg" not in body                                                  # the groups are a plotly chart
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    data = json.loads(charts[0].proto.spec)["data"]
    kinds = [trace.get("meta", {}).get("kind") for trace in data]
    assert kinds.count("groups") == 1 and kinds.count("words") == 2 and "link" in kinds
    words = {t["meta"]["side"]: set(t["text"]) for t in data if t.get("meta", {}).get("kind") == "words"}
    assert words["a"] <= set("who wrote the declaration of independence ?".split()) and words["a"]
    assert words["b"] <= set("who painted the mona lisa ?".split()) and words["b"]
    tables = {tuple(df.value.columns): df.value for df in at.dataframe}
    groups = tables[("group", "importance ψ", "words")]
    assert len(groups) == len(next(t for t in data if t["meta"]["kind"] == "groups")["x"])
    assert groups["words"].str.len().gt(0).all(), groups                       # every group shows its words
    probabilities = [df for cols, df in tables.items() if "probability" in cols]
    assert len(probabilities) == 1                                             # the probabilities, once
    assert "p = [" not in body and "p(" not in body
    assert not any("probabilit" in m.value and re.search(r"0\.\d{3}", m.value) for m in at.markdown)
    assert any(m.value.startswith("**Prediction:**") for m in at.markdown)
    assert len(at.get("download_button")) == 3


@pytest.mark.parametrize("text_a, text_b, message", [
    ("", "who painted the mona lisa ?", "first text is empty"),
    ("who wrote hamlet ?", "   ", "second text is empty"),
    ("!!! ???", "who wrote hamlet ?", "first text has no words"),
])
def test_bad_input_gives_a_clear_message(pairs_page, text_a, text_b, message):
    at = set_texts(pairs_page, text_a, text_b)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(message in w.value for w in at.warning), [w.value for w in at.warning]
    assert "ml-prow" not in html_of(at)


def test_identical_and_very_long_texts_are_explained_with_a_note(pairs_page):
    at = set_texts(pairs_page, "who wrote hamlet ?", "who wrote hamlet ?")
    assert not at.exception and not at.error
    assert any("identical" in i.value for i in at.info), [i.value for i in at.info]
    at = set_texts(at, "what is the longest river in the world ? " * 10, "how long is the nile ?")
    assert not at.exception and not at.error
    assert any("reads only the first 40" in i.value for i in at.info), [i.value for i in at.info]
    assert "ml-prow" in html_of(at)


def test_methods_are_explained_one_by_one_with_progress_and_an_added_method_alone(pairs_page, monkeypatch):
    import core.explain.registry as registry
    from streamlit.delta_generator import DeltaGenerator

    calls, texts = [], []
    real_explain, real_progress = registry.explain_pair, DeltaGenerator.progress

    def counting(model, text_a, text_b, methods, **kwargs):
        calls.append(list(methods))
        return real_explain(model, text_a, text_b, methods=methods, **kwargs)

    def recording(self, value, text=None):
        texts.append(text)
        return real_progress(self, value, text=text)

    monkeypatch.setattr(registry, "explain_pair", counting)
    monkeypatch.setattr(DeltaGenerator, "progress", recording)
    monkeypatch.setattr("ui.common.BAR_BEAT_SECONDS", None)  # the redraws between methods only, on any machine
    at = pairs_page
    at.multiselect[0].set_value(["zero", "lime"])
    at = set_texts(at, "who wrote hamlet ?", "who painted the mona lisa ?")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert calls == [["zero"], ["lime"]]
    assert texts[0] == "method 1/2: zero erasure · estimating…"
    assert re.fullmatch(r"method 2/2: LIME · (about \d+ s|under a second) left", texts[2]), texts
    at.multiselect[0].set_value(["zero", "lime", "imask"]).run()
    assert calls[2:] == [["imask"]]  # the other two come from the cache
    methods = re.findall(r'class="ml-prow" data-method="(\w+)" data-side="a"', html_of(at))
    assert methods == ["zero", "lime", "imask"] and not at.get("progress")


def test_the_example_picker_and_the_text_boxes_agree(masklens_home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run().switch_page("pages/6_Sentence_pairs.py")
    at.session_state["pair_methods"] = ["zero"]  # keep the runs short
    at.run()
    picker = at.selectbox(key="pair_example")
    assert picker.value == picker.options[1]  # the first example pair is in the boxes, and the picker says so
    at.text_area(key="pair_text_a").input("how far is the moon ?").run()
    assert at.selectbox(key="pair_example").value == "(type your own)"
    at.selectbox(key="pair_example").select(at.selectbox(key="pair_example").options[2]).run()
    assert at.text_area(key="pair_text_a").value == "what is the capital of france ?"
    assert at.text_area(key="pair_text_b").value == "how many people live in tokyo ?"
    assert not at.exception, [e.value for e in at.exception]
