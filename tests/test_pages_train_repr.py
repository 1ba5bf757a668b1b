"""The Representations and Train pages under AppTest: two shipped models projected; a tiny model trained end to end."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.registry import list_models
from tests.test_app import APP

TIMEOUT = 180
WAIT = 120  # seconds to wait for a background run (a tiny one takes a few seconds)
REPR_PAGE, TRAIN_PAGE = "pages/4_Representations.py", "pages/5_Train.py"


def page(path: str, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    for key, value in state.items():
        at.session_state[key] = value
    return at.switch_page(path).run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_representations_page_compares_two_shipped_models(masklens_home):
    at = page(REPR_PAGE, repr_n=100, repr_perplexity=10.0)
    ok(at)
    assert at.title[0].value == "Sentence representations"
    assert at.selectbox(key="repr_left").value == "lstm-att-movie-snippets"
    assert at.selectbox(key="repr_right").value == "lstm-vat-movie-snippets"
    assert len(at.get("plotly_chart")) == 2
    table = at.dataframe[0].value
    assert list(table["model"]) == ["lstm-att-movie-snippets", "lstm-vat-movie-snippets"]
    assert list(table["n"]) == [100, 100] and list(table["dim"]) == [150, 150]
    assert ((table["silhouette"] >= -1) & (table["silhouette"] <= 1)).all() and (table["inter"] > 0).all()
    captions = [c.value for c in at.caption]
    assert sum("silhouette" in c and "100 test examples" in c for c in captions) == 2
    assert len(at.get("download_button")) == 1
    assert list((masklens_home / "representations").rglob("*.json")), "the projections are cached on disk"

    at.run()  # a rerun is served from the cache
    ok(at)
    at.number_input(key="repr_perplexity").set_value(100.0).run()
    ok(at)
    assert any("must be below the number of examples" in w.value for w in at.warning)
    assert not at.get("plotly_chart")

    at.number_input(key="repr_perplexity").set_value(10.0)
    at.selectbox(key="repr_right").select("cnn-base-trec6").run()
    ok(at)
    assert any("different datasets" in i.value for i in at.info)
    at.selectbox(key="repr_right").select("(none)").run()
    ok(at)
    assert len(at.get("plotly_chart")) == 1 and len(at.dataframe[0].value) == 1


def start(at: AppTest, **numbers) -> AppTest:
    """Fill the Train page for a tiny CNN run on trec6 and press Start."""
    at.selectbox(key="train_dataset").select("trec6")
    values = {"train_epochs_cnn": 1, "train_max_train": 300, "train_max_eval": 60, **numbers}
    for key, value in values.items():
        at.number_input(key=key).set_value(value)
    return at.button(key="train_start").click().run()


def wait_for_run(at: AppTest):
    run = at.session_state["train_run"]
    assert run.join(WAIT), "the background run did not end in time"
    return run


def test_train_page_trains_a_tiny_model_end_to_end(masklens_home):
    at = page(TRAIN_PAGE)
    ok(at)
    assert at.title[0].value == "Train a model"
    at.text_input(key="train_name").input("apptest-cnn")
    at = start(at)
    ok(at)
    run = wait_for_run(at)
    assert run.state().status == "finished", run.state().error
    at.run()
    ok(at)
    assert any("Trained **apptest-cnn**" in s.value for s in at.success)
    assert any("now in every page's model picker" in s.value for s in at.success)
    assert not any("exists" in w.value for w in at.warning)  # the model just trained is no name conflict
    assert any("apptest-cnn is the model just trained" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 2  # loss and dev accuracy
    assert at.get("progress")[0].proto.value == 100
    record = {r.name: r for r in list_models()}["apptest-cnn"]
    assert (record.source, record.dataset, record.method) == ("user", "trec6", "base")
    assert record.path == str(masklens_home / "models" / "apptest-cnn")

    at.session_state["repr_n"], at.session_state["repr_perplexity"] = 50, 10.0  # keep the projections small
    at.switch_page(REPR_PAGE).run()
    ok(at)
    assert "apptest-cnn" in at.selectbox(key="repr_left").options


def test_train_page_replaces_an_existing_model_only_when_asked(masklens_home):
    at = page(TRAIN_PAGE)
    at.text_input(key="train_name").input("apptest-twice")
    run = wait_for_run(start(at))
    assert run.state().status == "finished", run.state().error
    first = (masklens_home / "models" / "apptest-twice" / "model.safetensors").read_bytes()
    at.run()
    at.button(key="train_clear").click().run()
    ok(at)
    assert any("apptest-twice exists" in w.value for w in at.warning)
    at = start(at, train_seed=1)  # the box is not ticked: refused before anything runs
    assert any("already exists" in e.value for e in at.error)
    assert (masklens_home / "models" / "apptest-twice" / "model.safetensors").read_bytes() == first
    at.checkbox(key="train_overwrite").check()
    run = wait_for_run(start(at, train_seed=1))
    assert run.state().status == "finished", run.state().error
    assert (masklens_home / "models" / "apptest-twice" / "model.safetensors").read_bytes() != first


def test_train_page_can_stop_a_run(masklens_home):
    at = page(TRAIN_PAGE)
    at.text_input(key="train_name").input("apptest-stopped")
    at = start(at, train_epochs_cnn=200, train_max_train=500)
    ok(at)
    assert at.button(key="train_stop")
    at.button(key="train_stop").click().run()
    run = wait_for_run(at)
    assert run.state().status == "stopped"
    at.run()
    ok(at)
    assert any("Stopped early" in i.value for i in at.info)
    assert "apptest-stopped" in {r.name for r in list_models()}
    at.button(key="train_clear").click().run()
    ok(at)
    assert "train_run" not in at.session_state


@pytest.mark.parametrize("numbers, name, message", [
    ({"train_epochs_cnn": 0}, "", "epochs must be at least 1"),
    ({"train_batch_cnn": 0}, "", "batch_size must be at least 1"),
    ({"train_lr_cnn": 0.0}, "", "lr must be positive"),
    ({"train_max_train": 1}, "", "only one class"),
    ({}, "cnn-base-trec6", "shipped model"),
    ({}, "bad name!", "not allowed"),
])
def test_train_page_bad_settings_give_a_message(masklens_home, numbers, name, message):
    at = page(TRAIN_PAGE)
    if name:
        at.text_input(key="train_name").input(name)
    at = start(at, **numbers)
    assert not at.exception, [e.value for e in at.exception]
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert "train_run" not in at.session_state
    assert not (masklens_home / "models").exists()


def test_train_page_offers_the_methods_of_each_architecture(masklens_home):
    at = page(TRAIN_PAGE)
    single_text = ["base", "l2", "vmask", "iba", "l2x"]
    expected = {"cnn": single_text, "lstm": single_text + ["att", "vat"],
                "minilm": single_text + ["att", "vat", "evarm", "evarm_mask"]}
    for architecture, methods in expected.items():
        at.selectbox(key="train_architecture").select(architecture).run()
        ok(at)
        assert at.selectbox(key="train_method").options == methods
    at.selectbox(key="train_architecture").select("cnn")
    at.selectbox(key="train_method").select("vmask").run()
    ok(at)
    assert at.number_input(key="train_beta_start").value == 1.0
    assert at.number_input(key="train_beta_end").value == 0.01
    assert at.number_input(key="train_tau").value == 0.5


def toy_csv(n: int = 120, labels: tuple[str, str] = ("neg", "pos")) -> bytes:
    from tests.toy import toy_dataset

    split = toy_dataset(n_train=n, n_eval=1).train
    rows = ["text,label"] + [f"{text},{labels[label]}" for text, label in zip(split.texts, split.labels)]
    return "\n".join(rows).encode("utf-8")


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.radio(key="train_source").set_value("upload a CSV").run()
    at.file_uploader(key="train_upload").set_value((name, content, "text/csv"))
    return at.run()


def test_train_page_trains_on_an_uploaded_csv(masklens_home):
    at = upload(page(TRAIN_PAGE), "my_reviews.csv", toy_csv())
    ok(at)
    assert any("User CSV" in c.value and "neg, pos" in c.value for c in at.caption)
    at.number_input(key="train_epochs_cnn").set_value(1)
    at.button(key="train_start").click().run()
    ok(at)
    run = wait_for_run(at)
    assert run.state().status == "finished", run.state().error
    at.run()
    ok(at)
    record = {r.name: r for r in list_models()}["my-cnn-base-my_reviews"]
    assert record.dataset == "my_reviews" and record.label_names == ("neg", "pos")


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"text,label\n", "no data rows"),
    (b"sentence,label\ngood,pos\nbad,neg\n", "has no column 'text'"),
    ("text,label\n" + "\n".join(f"film number {i},pos" for i in range(20)), "only one"),
    (b"text,label\n\xff\xfe,pos\n", "not UTF-8"),
])
def test_train_page_bad_csv_gives_a_message(masklens_home, content, message):
    content = content.encode() if isinstance(content, str) else content
    at = upload(page(TRAIN_PAGE), "bad.csv", content)
    assert not at.exception, [e.value for e in at.exception]
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert "train_start" not in [b.key for b in at.button]


def test_a_replaced_checkpoint_is_never_served_from_the_page_cache(masklens_home, tmp_path):
    import os
    import shutil

    from core.paths import SHIPPED_CHECKPOINTS_DIR
    from ui.common import cached_model, checkpoint_stamp

    path = tmp_path / "ckpt"
    shutil.copytree(SHIPPED_CHECKPOINTS_DIR / "cnn-base-trec6", path)
    before = checkpoint_stamp(str(path))
    first = cached_model("m", str(path), before)
    assert cached_model("m", str(path), before) is first  # the same version: one load
    config = path / "config.json"
    config.write_text(config.read_text())  # a save of the same name writes a new config file
    os.utime(config, ns=(os.stat(config).st_atime_ns, os.stat(config).st_mtime_ns + 1_000_000))
    after = checkpoint_stamp(str(path))
    assert after != before and cached_model("m", str(path), after) is not first
    assert checkpoint_stamp("hf-pair:somewhere") == ""


class _FakeRun:
    """A run stuck mid-training (no process): what the live panel draws for a known state."""

    def __init__(self, remaining):
        from core.training.background import RunState

        self._state = RunState("fake", "training", 5, 20, 1, 2, losses=[1.0] * 5, elapsed=3.0, remaining=remaining)

    def state(self):
        return self._state

    def stop(self):
        return self._state

    def join(self, timeout=None):
        return False  # still running


@pytest.mark.parametrize("remaining, expected", [(42.0, "· about 42 s left"), (600.0, "· about 10 min left"),
                                                 (None, "· 3 s")])
def test_train_page_progress_shows_the_time_left(masklens_home, remaining, expected):
    at = page(TRAIN_PAGE, train_run=_FakeRun(remaining))
    ok(at)
    text = at.get("progress")[0].proto.text
    assert text.endswith(expected) and "step 5/20" in text, text


def test_representations_page_leaves_no_progress_bar_behind(masklens_home):
    at = page(REPR_PAGE, repr_n=50, repr_perplexity=10.0, repr_right="(none)")
    ok(at)
    assert len(at.get("plotly_chart")) == 1 and not at.get("progress")


def test_start_training_is_disabled_right_after_the_click(masklens_home):
    at = page(TRAIN_PAGE)
    at.text_input(key="train_name").input("apptest-once")
    assert not at.button(key="train_start").disabled
    at = start(at, train_epochs_cnn=200, train_max_train=500)  # long enough to be running still
    ok(at)
    first = at.session_state["train_run"]
    assert at.button(key="train_start").disabled  # drawn disabled in the very run the click caused
    assert "train_start_clicked" not in at.session_state
    at.session_state["train_start_clicked"] = True  # what a second click's callback would do
    at.run()
    assert at.session_state["train_run"] is first and at.button(key="train_start").disabled  # nothing queued
    at.button(key="train_stop").click().run()
    assert wait_for_run(at).state().status == "stopped"
    at.run()
    assert not at.button(key="train_start").disabled  # free again once the run ended


def test_train_page_loss_legend_names_the_window():
    from core.viz.training import loss_figure

    per_step = loss_figure([1.0, 0.8, 0.7], steps_per_epoch=5)
    assert [t.name for t in per_step.data if t.showlegend is not False] == ["loss per step"]
    averaged = loss_figure([1.0] * 40, steps_per_epoch=40)
    assert [t.name for t in averaged.data] == ["loss per step", "moving average over 4 steps"]
