"""Faithfulness figures and tables from runner records (by hand), and the page under AppTest."""

from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

from core.viz.faithfulness import (SECONDS_COLUMN, ProgressWords, aopc_curve, aopc_figure, auc_rep_figure,
                                   curve_points, degradation_figure, explainer_colors, posthoc_figure, summary_table)
from tests.test_app import APP

TIMEOUT = 180
PAGE = "pages/3_Faithfulness.py"

RECORDS = [
    {"explainer": "zero", "n": 2, "seconds": 0.5, "skipped": None,
     "metrics": {"aopc": {"value": 0.2, "per_k": [0.3, 0.3], "k_max": 2},
                 "posthoc": {1: 0.5, 5: 1.0, 10: 1.0},
                 "degradation": {"score": 0.4, "fractions": [0.0, 0.5, 1.0], "morf": [1.0, 0.2, 0.0],
                                 "lerf": [1.0, 0.9, 0.0]},
                 "auc_rep": {"value": 0.6, "fractions": [0.0, 0.2], "mean_curve": [0.8, 0.4]}}},
    {"explainer": "vmask", "n": 0, "seconds": 0.0, "skipped": "no mask", "metrics": {}},
    {"explainer": "lime", "n": 2, "seconds": 1.0, "skipped": None,
     "metrics": {"aopc": {"value": 0.1, "per_k": [0.1, 0.2], "k_max": 2}}},
]


def test_aopc_curve_is_eq_9_for_every_k():
    assert aopc_curve([0.3, 0.6, 0.3]) == pytest.approx([0.3 / 2, 0.9 / 3, 1.2 / 4])


def test_figures_have_one_trace_per_explainer_and_shared_colours():
    colors = explainer_colors(RECORDS)
    aopc = aopc_figure(RECORDS)
    assert [t.name for t in aopc.data] == ["zero", "lime"]
    assert list(aopc.data[0].y) == pytest.approx([0.15, 0.2])
    assert aopc.data[1].line.color == colors["lime"] != colors["zero"]
    assert [t.name for t in posthoc_figure(RECORDS).data] == ["zero"]
    degradation = degradation_figure(RECORDS)
    assert [t.name for t in degradation.data] == ["zero MORF", "zero LERF"]
    assert list(degradation.data[0].x) == [0.0, 50.0, 100.0] and degradation.data[1].line.dash == "dash"
    assert len(auc_rep_figure(RECORDS).data) == 1


def test_summary_table_and_curve_points():
    table = summary_table(RECORDS).set_index("explainer")
    assert table.loc["zero", "AOPC@2"] == 0.2 and table.loc["zero", "posthoc@5"] == 1.0
    assert table.loc["zero", "degradation"] == 0.4 and table.loc["zero", "AUC_rep"] == 0.6
    assert table.loc["vmask", "skipped"] == "no mask" and math.isnan(table.loc["vmask", "AOPC@2"])
    assert math.isnan(table.loc["lime", "degradation"])
    points = curve_points(RECORDS)
    zero = points[points["explainer"] == "zero"]
    assert len(zero) == 2 + 2 + 3 + 6 + 2  # AOPC(K), drops, post-hoc, MoRF+LeRF, AUC_rep curve
    lerf = zero[zero["curve"] == "lerf"]
    assert list(lerf["y"]) == [1.0, 0.9, 0.0]


def test_summary_table_has_only_the_chosen_and_computed_metrics():
    table = summary_table(RECORDS, metrics=["aopc", "posthoc"], skipped=False)
    assert list(table.columns) == ["explainer", "n", "AOPC@2", "posthoc@1", "posthoc@5", "posthoc@10", SECONDS_COLUMN]
    assert list(table["explainer"]) == ["zero", "lime"]  # the skipped one is said in a caption instead
    only_aopc = summary_table(RECORDS, metrics=["aopc", "auc_rep"], skipped=False)
    assert list(only_aopc.columns) == ["explainer", "n", "AOPC@2", "AUC_rep", SECONDS_COLUMN]
    pair_like = [{**r, "metrics": {m: v for m, v in r["metrics"].items() if m != "auc_rep"}} for r in RECORDS]
    assert "AUC_rep" not in summary_table(pair_like, metrics=["aopc", "auc_rep"]).columns  # not computed: no column
    assert "skipped" not in only_aopc.columns and "skipped" in summary_table(RECORDS).columns


def test_summary_seconds_are_the_stored_per_example_seconds_else_this_calls():
    seconds = summary_table(RECORDS, seconds={"zero": 0.25}).set_index("explainer")[SECONDS_COLUMN]
    assert seconds["zero"] == 0.25 and math.isnan(seconds["vmask"]) and math.isnan(seconds["lime"])
    fresh = [{**RECORDS[2], "explained": 4, "timing": {"explain": 2.0, "aopc": 9.0}}]
    assert summary_table(fresh)[SECONDS_COLUMN].tolist() == [0.5]  # explaining time only, per explained example


def test_progress_words_count_per_explainer_and_name_the_metric():
    from core.progress import Progress

    words = ProgressWords(per_explainer=2, labels={"zero": "zero erasure", "lime": "LIME"})
    seen = []
    progress = Progress(4, on_update=lambda p: seen.append(words(p)), clock=iter(range(100)).__next__)
    progress.skip(0, "zero")
    progress.advance(1, "zero")
    progress.advance(1, "zero")
    progress.set_stage("zero: auc_rep")
    progress.skip(1, "lime")  # one stored
    progress.advance(1, "lime")
    assert seen == ["explaining with zero erasure: 0/2 sentences · estimating…",
                    "explaining with zero erasure: 1/2 sentences · about 3 s left",
                    "explaining with zero erasure: 2/2 sentences · about 2 s left",
                    "computing AUC_rep (MLM replacement) for zero erasure",
                    "explaining with LIME: 1/2 sentences · about 1 s left",
                    "explaining with LIME: 2/2 sentences"]


def _page(masklens_home) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return at.switch_page(PAGE).run()


def _set(at: AppTest, model: str, explainers: list[str], metrics: list[str], n: int) -> None:
    next(s for s in at.selectbox if s.label == "Model").set_value(model)
    at.run()  # the explainer and metric choices depend on the model (pair or not)
    next(m for m in at.multiselect if m.label == "Explainers").set_value(explainers)
    next(m for m in at.multiselect if m.label == "Metrics").set_value(metrics)
    next(n_ for n_ in at.number_input if n_.label.startswith("Test examples")).set_value(n)


def test_page_evaluates_draws_and_serves_the_store(masklens_home):
    at = _page(masklens_home)
    assert not at.exception and any("Press **Evaluate**" in i.value for i in at.info)
    _set(at, "cnn-vmask-movie-snippets", ["vmask", "zero"], ["aopc", "posthoc", "degradation"], 4)
    at.button[0].click().run()
    assert not at.exception and not at.error
    results = at.session_state["faithfulness_results"]
    assert [r["explainer"] for r in results["records"]] == ["vmask", "zero"]
    assert all(r["explained"] == 4 and r["n"] == 4 for r in results["records"])
    assert len(at.get("plotly_chart")) == 3 and len(at.dataframe) == 1
    assert list((masklens_home / "evaluations").glob("*/explanations/zero-*.json"))
    # a fresh session with the same settings is served from the store: nothing explained again
    again = _page(masklens_home)
    _set(again, "cnn-vmask-movie-snippets", ["vmask", "zero"], ["aopc", "posthoc", "degradation"], 4)
    again.button[0].click().run()
    assert [r["explained"] for r in again.session_state["faithfulness_results"]["records"]] == [0, 0]


def test_page_reports_skipped_explainers_and_empty_choices(masklens_home):
    at = _page(masklens_home)
    _set(at, "cnn-base-movie-snippets", ["vmask", "zero"], ["aopc"], 2)
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert any("Skipped **vmask**" in c.value for c in at.caption)
    next(m for m in at.multiselect if m.label == "Explainers").set_value([])
    at.run()
    assert any("at least one explainer" in i.value for i in at.info)


def test_page_evaluates_a_pair_model_with_pair_explainers(masklens_home):
    at = _page(masklens_home)
    next(s for s in at.selectbox if s.label == "Model").set_value("dattn-trec6-answer-type-pairs")
    at.run()
    assert next(m for m in at.multiselect if m.label == "Metrics").options == ["AOPC", "post-hoc accuracy",
                                                                             "degradation (MoRF/LeRF)"]
    assert "GMASK (word groups)" in next(m for m in at.multiselect if m.label == "Explainers").options
    assert next(s for s in at.selectbox if s.label.startswith("Deletion")).options == [
        "remove the word (papers)", "pad id in place (GMASK code; pairs)"]  # GMASK's released deletion too
    _set(at, "dattn-trec6-answer-type-pairs", ["zero", "lime"], ["aopc", "degradation"], 3)
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    records = at.session_state["faithfulness_results"]["records"]
    assert [(r["explainer"], r["n"]) for r in records] == [("zero", 3), ("lime", 3)]
    assert len(at.get("plotly_chart")) == 2


def test_progress_shows_the_time_left_and_a_stop_keeps_the_stored_explanations(masklens_home, monkeypatch):
    import re

    from streamlit.delta_generator import DeltaGenerator
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    texts, real = [], DeltaGenerator.progress

    def recording(self, value, text=None):
        texts.append(text)
        if text.startswith("explaining with zero erasure: 3/") and len(texts) < 5:  # once, as Cancel does:
            get_script_run_ctx().script_requests.request_stop()  # raises from the next st call, this redraw
        return real(self, value, text=text)

    monkeypatch.setattr(DeltaGenerator, "progress", recording)
    monkeypatch.setattr("ui.common.BAR_BEAT_SECONDS", None)  # the redraws between examples only, on any machine
    at = _page(masklens_home)
    _set(at, "cnn-vmask-movie-snippets", ["zero"], ["aopc"], 6)
    at.button[0].click().run()
    assert not at.exception and "faithfulness_results" not in at.session_state  # stopped mid-way
    left = r"(about \d+ s|under a second) left"
    assert texts[0] == "explaining with zero erasure: 0/6 sentences · estimating…", texts  # nothing timed yet
    assert [re.fullmatch(rf"explaining with zero erasure: {k}/6 sentences · {left}", t) is not None
            for k, t in zip((1, 2, 3), texts[1:])] == [True] * 3 and len(texts) == 4, texts  # stopped at 3/6
    at.session_state["faithfulness_cancelled"] = True  # what Cancel's callback does
    at.run()
    assert any("Evaluation cancelled" in w.value for w in at.warning)
    at.button[0].click().run()  # Evaluate again: resumes from the store
    assert not at.exception and at.session_state["faithfulness_results"]["records"][0]["explained"] == 3
    assert "Cancel" not in [b.label for b in at.button]


def _table_columns(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value.columns)


def test_page_shows_only_the_chosen_metrics_and_the_explaining_seconds(masklens_home):
    import json

    import numpy as np

    at = _page(masklens_home)
    _set(at, "cnn-vmask-movie-snippets", ["zero", "vmask"], ["aopc", "posthoc"], 3)
    at.run()
    assert any("per sentence" in c.value and "zero erasure ≈" in c.value for c in at.caption), \
        [c.value for c in at.caption]  # the estimate for this model, by label
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert _table_columns(at) == ["explainer", "n", "AOPC@10", "posthoc@1", "posthoc@5", "posthoc@10", SECONDS_COLUMN]
    table = at.dataframe[0].value
    assert not table.isna().any().any()  # no empty ("None") cell
    stored = json.loads(next((masklens_home / "evaluations").glob("*/explanations/zero-*.json")).read_text())
    expected = np.mean([e["seconds"] for e in stored["explanations"].values()])
    assert table.set_index("explainer").loc["zero", SECONDS_COLUMN] == pytest.approx(expected)
    assert "Seconds one explanation took" in at.dataframe[0].proto.columns  # the column's help
    # served from the store in a fresh session: the same seconds, not the store lookup's
    again = _page(masklens_home)
    _set(again, "cnn-vmask-movie-snippets", ["zero", "vmask"], ["aopc", "posthoc"], 3)
    again.button[0].click().run()
    assert [r["explained"] for r in again.session_state["faithfulness_results"]["records"]] == [0, 0]
    assert again.dataframe[0].value.set_index("explainer").loc["zero", SECONDS_COLUMN] == pytest.approx(expected)


def test_page_labels_explainers_as_declared(masklens_home):
    from core.explain.registry import explainers_for

    at = _page(masklens_home)
    picker = next(m for m in at.multiselect if m.label == "Explainers")
    assert picker.options == [cls.label for cls in explainers_for("text").values()]
    assert picker.value == ["vmask", "zero", "lime"] and "lime" not in picker.options
    assert "~0.05 s" not in (picker.help or "")  # no CNN timing in the help: the caption estimates per model


def test_page_shows_no_none_for_a_pair_model(masklens_home):
    at = _page(masklens_home)
    _set(at, "dattn-trec6-answer-type-pairs", ["zero", "lime"], ["aopc", "posthoc", "degradation"], 2)
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    columns = _table_columns(at)
    assert "AUC_rep" not in columns and "skipped" not in columns
    assert not at.dataframe[0].value.isna().any().any()
    texts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning)]
    assert not any("None" in t for t in texts), texts


def test_the_page_hands_a_run_to_ray_and_a_local_run_reuses_what_it_stored(masklens_home, monkeypatch):
    pytest.importorskip("ray", reason="ray is not installed")
    import core.evaluation.engines as engines

    built = []

    class CountingRay(engines.RayEngine):
        def __init__(self, **options):
            super().__init__(**options)
            built.append(options)

    monkeypatch.setattr(engines, "RayEngine", CountingRay)
    at = AppTest.from_file(APP, default_timeout=300).run().switch_page(PAGE).run()
    next(box for box in at.multiselect if box.label == "Explainers").set_value(["zero"])
    next(box for box in at.multiselect if box.label == "Metrics").set_value(["aopc"])
    at.number_input[0].set_value(6).run()
    at.toggle(key="faithfulness_ray").set_value(True).run()
    at.number_input(key="faithfulness_ray_workers").set_value(1).run()
    next(b for b in at.button if b.label == "Evaluate").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    assert built == [{"address": None, "workers": 1, "gpus_per_worker": 0.0}]
    on_ray = at.dataframe[0].value
    at.toggle(key="faithfulness_ray").set_value(False).run()
    next(b for b in at.button if b.label == "Evaluate").click().run()
    local = at.dataframe[0].value  # served from the store Ray's explanations went into (same store keys)
    assert on_ray.drop(columns=[c for c in on_ray.columns if "s /" in c]).equals(
        local.drop(columns=[c for c in local.columns if "s /" in c]))
