"""The Explain page under AppTest (normal sentence, bad inputs, comparison) and in a real browser (e2e)."""

from __future__ import annotations

import os
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app import APP

TIMEOUT = 180


@pytest.fixture
def explain_page(masklens_home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return at.switch_page("pages/1_Explain.py").run()


def set_text(at: AppTest, text: str) -> AppTest:
    at.text_area(key="explain_text").input(text)
    return at.run()


def rows(at: AppTest) -> list[str]:
    """The methods of the heatmap rows shown, in order."""
    html = "".join(element.proto.body for element in at.get("html"))
    return re.findall(r'class="ml-row" data-method="(\w+)"', html)


def test_default_sentence_shows_vmask_zero_and_marginal_rows(explain_page):
    at = set_text(explain_page, "a gripping , beautifully acted film that never lets go")
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert rows(at) == ["vmask", "zero", "marginal"]
    assert any(m.value.startswith("**Prediction:**") for m in at.markdown)
    assert len(at.get("download_button")) == 3


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   ", "empty"),
    ("!!! ??? ,,,", "only punctuation"),
    ("😀 🎬 ...", "no words after cleaning"),
    ("zzqxv qqxzz wxqzv", "None of the words is in the vocabulary"),
])
def test_bad_input_gives_a_clear_message(explain_page, text, message):
    at = set_text(explain_page, text)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any(message in w.value for w in at.warning), [w.value for w in at.warning]
    assert rows(at) == []


def test_long_text_is_truncated_and_says_so(explain_page):
    at = set_text(explain_page, "a truly great film . " * 40)
    assert not at.exception, [e.value for e in at.exception]
    assert any("reads only the first 50" in i.value for i in at.info), [i.value for i in at.info]
    assert rows(at) == ["vmask", "zero", "marginal"]


def horizontal_blocks(node) -> list:
    """Every block of columns under ``node`` (st.columns), outermost first, in page order."""
    from streamlit.testing.v1.element_tree import Block, Column

    found = []
    children = list(getattr(node, "children", {}).values())
    if isinstance(node, Block) and children and all(isinstance(c, Column) for c in children):
        found.append(children)
    for child in children:
        found += horizontal_blocks(child)
    return found


def model_columns(at: AppTest) -> list[dict]:
    """What each model's result column shows, from the result's blocks of columns (headings first).

    Each: ``heading``, ``rows`` (the methods of its heatmap rows, in order), ``html``, ``captions``,
    ``markdown``, ``info``, ``warnings``, ``pairs`` (per block of columns, the rows each column has there:
    rows of one method sit in one block, side by side).
    """
    columns: list[dict] = []
    for block in horizontal_blocks(at.main):
        if not columns and any(column.subheader for column in block):
            columns = [{"heading": column.subheader[0].value, "rows": [], "html": "", "captions": [], "markdown": [],
                        "info": [], "warnings": [], "pairs": []} for column in block]
        if not columns or len(block) != len(columns):
            continue
        for entry, column in zip(columns, block):
            html = "".join(element.proto.body for element in column.get("html"))
            entry["pairs"].append(re.findall(r'class="ml-row" data-method="(\w+)"', html))
            entry["rows"] += entry["pairs"][-1]
            entry["html"] += html
            entry["captions"] += [c.value for c in column.caption]
            entry["markdown"] += [m.value for m in column.markdown]
            entry["info"] += [i.value for i in column.info]
            entry["warnings"] += [w.value for w in column.warning]
    return columns


def compare_with(at: AppTest, name: str, class_name: str | None = None) -> AppTest:
    if class_name:
        at.selectbox(key="explain_class").select(class_name)
    at.selectbox(key="explain_compare").select(name)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_second_model_is_shown_beside_and_skips_vmask_for_a_base_model(explain_page):
    at = set_text(explain_page, "an unbearably slow and pretentious mess")
    at = compare_with(at, "cnn-base-movie-snippets")
    assert [h.value for h in at.subheader] == ["cnn-vmask-movie-snippets", "cnn-base-movie-snippets"]
    first, second = model_columns(at)
    assert (first["heading"], second["heading"]) == ("cnn-vmask-movie-snippets", "cnn-base-movie-snippets")
    assert first["rows"] == ["vmask", "zero", "marginal"] and second["rows"] == ["zero", "marginal"]
    # the rows of one method sit side by side; the base model's missing VMASK row says why, in its place
    assert list(zip(first["pairs"], second["pairs"]))[1:4] == [(["vmask"], []), (["zero"], ["zero"]),
                                                               (["marginal"], ["marginal"])]
    assert any("VMASK mask" in c and "skipped" in c for c in second["captions"]), second["captions"]
    assert not any("skipped" in c for c in first["captions"])
    for column in (first, second):
        assert any(m.startswith("**Prediction:**") and "explaining **negative**" in m for m in column["markdown"])
        assert 'data-model="' + column["heading"] + '"' in column["html"]
    assert len(at.get("download_button")) == 6
    assert not any("different words" in i.value or "reads only" in i.value for i in at.info)  # same words


def scale_ends(html: str, method: str) -> list[str]:
    """The upper ends of the colour bars above ``method``'s rows in ``html`` (e.g. ``"+4.57 (supports) log2 odds"``)."""
    return re.findall(rf'<span>([^<]+)</span></div><div class="ml-row" data-method="{method}"', html)


def test_the_shared_colour_scale_spans_both_models_and_per_row_does_not(explain_page):
    at = set_text(explain_page, "an unbearably slow and pretentious mess")
    at.multiselect(key="explain_methods").set_value(["vmask", "zero"])
    at = compare_with(at, "lstm-vmask-movie-snippets")
    first, second = model_columns(at)
    assert first["rows"] == second["rows"] == ["vmask", "zero"]
    assert scale_ends(first["html"], "zero") == scale_ends(second["html"], "zero")  # one scale for log2 odds
    at.radio(key="explain_scale").set_value("per row").run()
    first, second = model_columns(at)
    assert scale_ends(first["html"], "zero") != scale_ends(second["html"], "zero")  # each row its own


def test_the_second_model_explains_the_class_chosen_by_name(explain_page):
    at = set_text(explain_page, "an unbearably slow and pretentious mess")  # both models predict negative
    at = compare_with(at, "lstm-vmask-movie-snippets", class_name="positive")
    first, second = model_columns(at)
    assert second["heading"] == "lstm-vmask-movie-snippets"
    for column in (first, second):
        assert any(m.startswith("**Prediction:** negative") and "explaining **positive**" in m
                   for m in column["markdown"]), column["markdown"]
        assert column["html"].count("explains “positive”") == 2 and "explains “negative”" not in column["html"]
    assert not any("has no class" in c for c in first["captions"] + second["captions"])


def test_a_second_model_without_the_chosen_class_explains_its_predicted_class_and_says_why(explain_page):
    at = set_text(explain_page, "who directed this great film ?")
    at = compare_with(at, "cnn-vmask-trec6", class_name="positive")
    first, second = model_columns(at)
    assert second["heading"] == "cnn-vmask-trec6"
    assert any("explaining **positive**" in m for m in first["markdown"])
    assert any("cnn-vmask-trec6 has no class “positive” (its classes: ABBR, DESC, ENTY, HUM, LOC, NUM), so it "
               "explains its predicted class." in c for c in second["captions"]), second["captions"]
    prediction = next(m for m in second["markdown"] if m.startswith("**Prediction:**"))
    predicted = re.match(r"\*\*Prediction:\*\* (\w+) ", prediction).group(1)
    assert predicted in ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"] and f"explaining **{predicted}**" in prediction
    assert second["rows"] == ["vmask", "zero", "marginal"]
    assert not any("has no class" in c for c in first["captions"])


def test_two_models_that_keep_different_words_say_so(explain_page):
    text = " ".join(["a truly great film"] * 15)  # 60 words: the CNN reads 50, MiniLM all of them
    at = set_text(explain_page, text)
    at.multiselect(key="explain_methods").set_value(["zero"])
    at = compare_with(at, "minilm-vmask-movie-snippets")
    first, second = model_columns(at)
    assert first["html"].count('class="ml-chip"') == 50 and second["html"].count('class="ml-chip"') == 60
    assert any(i.startswith("cnn-vmask-movie-snippets reads only the first 50 of the 60 words "
                            "minilm-vmask-movie-snippets reads") for i in [i.value for i in at.info]), \
        [i.value for i in at.info]


def test_the_example_picker_always_agrees_with_the_text_box(explain_page):
    at = explain_page
    first_example = at.text_area(key="explain_text").value
    assert at.selectbox(key="explain_example").value == first_example  # not "(type your own)"
    at = set_text(at, first_example + " indeed")
    assert at.selectbox(key="explain_example").value == "(type your own)"
    third = at.selectbox(key="explain_example").options[3]
    at.selectbox(key="explain_example").select(third).run()
    assert at.text_area(key="explain_text").value == third and at.selectbox(key="explain_example").value == third
    at = set_text(at, first_example)  # typing an example's text picks that example
    assert at.selectbox(key="explain_example").value == first_example
    at.selectbox(key="explain_example").select("(type your own)").run()
    assert at.text_area(key="explain_text").value == ""


@pytest.mark.parametrize("model, methods, shown", [
    ("lstm-vat-movie-snippets", ["vmask", "attention", "zero"], ["attention", "zero"]),
    ("minilm-evarm-movie-snippets", ["evarm", "global", "attention"], ["evarm", "global"]),
])
def test_model_specific_explainers_are_offered_and_skipped_elsewhere(explain_page, model, methods, shown):
    at = set_text(explain_page, "an unbearably slow and pretentious mess")
    at.selectbox[1].select(model)
    at.multiselect[0].set_value(methods)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert rows(at) == shown
    assert any("skipped" in c.value for c in at.caption)


@pytest.mark.e2e
def test_typing_a_sentence_in_the_served_app_shows_three_rows(masklens_home, tmp_path, chromium_executable):
    from tests.browser import chromium_page, open_explain, served_app, submit_text

    with served_app(masklens_home, tmp_path / "streamlit.log") as base, chromium_page(chromium_executable) as page:
        submit_text(open_explain(page, base), "the acting is wooden but the score is wonderful")
        page.get_by_text("wooden", exact=True).first.wait_for(timeout=120_000)
        page.wait_for_function("document.querySelectorAll('.ml-row').length >= 3", timeout=120_000)
        methods = page.eval_on_selector_all(".ml-row", "rows => rows.map(r => r.dataset.method)")
        assert methods == ["vmask", "zero", "marginal"]
        chips = page.locator('.ml-row[data-method="zero"] .ml-chip')
        assert chips.count() == 9
        assert page.locator('[data-testid="stException"]').count() == 0
        # opened by URL first thing, the page draws its own sidebar links (ui.common.page_setup)
        nav = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "Faithfulness" in nav and "common" not in nav.lower(), nav
        if os.environ.get("MASKLENS_E2E_SCREENSHOT"):
            page.screenshot(path=os.environ["MASKLENS_E2E_SCREENSHOT"], full_page=True)


def test_adding_a_method_computes_only_that_method(explain_page, monkeypatch):
    import core.explain.registry as registry

    calls = []
    real = registry.explain

    def counting(model, text, methods, **kwargs):
        calls.append(list(methods))
        return real(model, text, methods=methods, **kwargs)

    monkeypatch.setattr(registry, "explain", counting)
    at = explain_page
    at.multiselect[0].set_value(["vmask", "zero"])
    at = set_text(at, "the plot is thin but the cast is charming")
    assert rows(at) == ["vmask", "zero"] and calls == [["vmask"], ["zero"]]
    at.multiselect[0].set_value(["vmask", "zero", "lime"]).run()
    assert rows(at) == ["vmask", "zero", "lime"] and calls[2:] == [["lime"]]  # the other two come from the cache


@pytest.fixture
def progress_texts(monkeypatch):
    """The texts the progress bars are redrawn with (AppTest keeps only the final page, the bar is gone by then)."""
    from streamlit.delta_generator import DeltaGenerator

    texts = []
    real = DeltaGenerator.progress

    def recording(self, value, text=None):
        texts.append(text)
        return real(self, value, text=text)

    monkeypatch.setattr(DeltaGenerator, "progress", recording)
    return texts


def test_several_methods_show_a_progress_bar_with_the_time_left(explain_page, progress_texts, monkeypatch):
    import ui.common

    monkeypatch.setattr(ui.common, "BAR_BEAT_SECONDS", None)  # only the reports between methods, on any machine
    at = explain_page
    at.multiselect[0].set_value(["zero", "unk"])
    progress_texts.clear()
    at = set_text(at, "the soundtrack is lovely and the story is dull")
    assert not at.exception and rows(at) == ["zero", "unk"]
    assert progress_texts[0] == "method 1/2: zero erasure · estimating…"
    assert re.fullmatch(r"method 2/2: \[UNK\] erasure · (about \d+ s|under a second) left", progress_texts[2])
    assert not at.get("progress") and "Cancel" not in [b.label for b in at.button]  # both gone once done
    progress_texts.clear()
    at.multiselect[0].set_value(["zero", "unk", "lime"]).run()
    # the two cached methods are instant and left out of the estimate: no estimate before LIME is timed
    assert progress_texts[:5] == ["method 1/3: zero erasure · estimating…", "method 2/3: zero erasure · estimating…",
                                  "method 2/3: [UNK] erasure · estimating…", "method 3/3: [UNK] erasure · estimating…",
                                  "method 3/3: LIME · estimating…"]


def test_a_stop_between_methods_keeps_the_finished_ones_and_cancel_holds_until_asked(explain_page, progress_texts,
                                                                                     monkeypatch):
    import core.explain.registry as registry
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    calls, real = [], registry.explain

    def stop_after_zero(model, text, methods, **kwargs):
        calls.append(list(methods))
        if methods == ["zero"]:  # as the browser does on Cancel / a closed tab: Streamlit raises at the next st call
            get_script_run_ctx().script_requests.request_stop()
        return real(model, text, methods=methods, **kwargs)

    monkeypatch.setattr(registry, "explain", stop_after_zero)
    at = explain_page
    at.multiselect[0].set_value(["zero", "unk"])
    at = set_text(at, "a dull story with a lovely soundtrack")
    assert not at.exception and calls == [["zero"]] and rows(at) == []  # stopped before unk started
    at.session_state["explain_cancelled"] = at.session_state["explain_running"]  # what Cancel's callback does
    at.run()
    assert calls == [["zero"]] and any("stopped" in i.value for i in at.info)
    next(b for b in at.button if b.label == "Explain again").click().run()
    assert rows(at) == ["zero", "unk"] and calls == [["zero"], ["unk"]]  # zero came from the cache


def test_a_stop_inside_a_method_takes_effect_at_its_next_forward_chunk(explain_page, progress_texts, monkeypatch):
    """As Cancel or a closed tab would: a stop requested during LIME's second forward chunk ends the
    run at the next redraw of the bar, one chunk later, instead of after the method's 63 chunks."""
    import core.explain.base as base
    import core.explain.registry as registry
    import ui.common
    from core.explain.features import WordFeatures
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    monkeypatch.setattr(registry, "seconds_per_pass", lambda features, rows=64: 1e-4)  # no timing passes
    monkeypatch.setattr(ui.common, "BAR_BEAT_SECONDS", 0.0)  # redraw at every chunk
    monkeypatch.setattr(base, "explain_batch_size", lambda model: 8)  # LIME's 500 samples in 63 chunks
    chunks, real = [], WordFeatures.keep_logits

    def stop_at_the_second_chunk(self, keep, baseline="zero"):
        chunks.append(keep.shape[0])
        if len(chunks) == 2:
            get_script_run_ctx().script_requests.request_stop()
        return real(self, keep, baseline)

    monkeypatch.setattr(WordFeatures, "keep_logits", stop_at_the_second_chunk)
    at = explain_page
    at.multiselect[0].set_value(["lime"])
    at = set_text(at, "the cast is charming but the plot never comes alive")
    assert not at.exception and rows(at) == [] and len(chunks) == 2  # the heartbeat before chunk 3 stopped it
    assert any(text and text.startswith("method 1/1: LIME") for text in progress_texts)


def test_a_long_run_shows_its_time_estimate_first(explain_page, monkeypatch):
    import core.explain.registry as registry

    import streamlit as st

    monkeypatch.setattr(registry, "seconds_per_pass", lambda features, rows=64: 0.5)
    st.cache_data.clear()  # an estimate cached by an earlier test of this sentence would hide the patch
    at = set_text(explain_page, "an unbearably slow and pretentious mess")
    assert not at.exception, [e.value for e in at.exception]
    captions = " ".join(c.value for c in at.caption)
    assert "Expected time on this machine if not cached:" in captions and "input marginalization ≈" in captions
