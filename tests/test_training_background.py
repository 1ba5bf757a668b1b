"""The background training runner: a full tiny run, stopping, failures in the thread, and validation."""

from __future__ import annotations

import pytest

from core.data.datasets import DatasetSplits, TextSplit
from core.registry import list_models
from core.training import TrainSettings
from core.training.background import TrainingRun, check_model_name, check_run, user_model_exists
from tests.toy import toy_dataset

WAIT = 120  # seconds; a tiny run takes ~1 s


def tiny(**overrides) -> TrainSettings:
    values = {"architecture": "cnn", "method": "base", "epochs": 2, "batch_size": 50, "device": "cpu",
              "name": "bg-tiny"}
    return TrainSettings(**{**values, **overrides})


def test_run_trains_reports_progress_and_saves(masklens_home):
    data = toy_dataset(n_train=200, n_eval=50)
    run = TrainingRun(tiny(), data=data)
    before = run.state()
    assert before.status == "preparing" and before.total_steps == 2 * 4 and before.step == 0
    assert run.start() is run and run.join(WAIT)
    state = run.state()
    assert state.status == "finished", state.error
    assert state.done and state.fraction == 1.0 and state.step == state.total_steps == 8
    assert len(state.losses) == 8 and all(loss > 0 for loss in state.losses)
    assert [h["epoch"] for h in state.history] == [1, 2]
    assert all(0 <= h["dev_accuracy"] <= 1 for h in state.history)
    assert state.metrics["dev_accuracy"] == max(h["dev_accuracy"] for h in state.history)
    assert state.path == str(masklens_home / "models" / "bg-tiny")
    assert "bg-tiny" in {r.name for r in list_models()} and user_model_exists("bg-tiny")
    with pytest.raises(RuntimeError):
        run.start()


def test_stop_keeps_the_best_epoch_so_far(masklens_home):
    run = TrainingRun(tiny(epochs=5, name="bg-stopped"), data=toy_dataset(n_train=200, n_eval=50))
    run.stop()  # asked before the first step: the callback stops training after it
    assert run.state().status == "stopping"
    assert run.start().join(WAIT)
    state = run.state()
    assert state.status == "stopped" and run.result.stopped_early
    assert state.step == 1 and len(state.losses) == 1 and len(state.history) == 1
    assert state.metrics["best_epoch"] == 1 and user_model_exists("bg-stopped")


def test_a_failure_in_the_thread_is_reported(masklens_home, monkeypatch):
    import core.training.background as background

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(background, "train", broken)
    run = TrainingRun(tiny(name="bg-failed"), data=toy_dataset(n_train=100, n_eval=20)).start()
    assert run.join(WAIT)
    state = run.state()
    assert state.status == "failed" and state.error == "RuntimeError: disk full" and state.done
    assert run.result is None and not user_model_exists("bg-failed")


def _one_class() -> DatasetSplits:
    split = TextSplit(("good film", "great plot"), (0, 0), ("a", "b"))
    return DatasetSplits("mono", ("positive",), split, split, split, 10, 1, "one class", "x")


def _empty_train() -> DatasetSplits:
    empty, split = TextSplit((), (), ()), TextSplit(("good", "bad"), (0, 1), ("a", "b"))
    return DatasetSplits("empty", ("neg", "pos"), empty, split, split, 10, 1, "no training rows", "y")


@pytest.mark.parametrize("settings, data, message", [
    (tiny(epochs=0), None, "epochs must be at least 1"),
    (tiny(batch_size=-5), None, "batch_size must be at least 1"),
    (tiny(batch_size=0), None, "batch_size must be at least 1"),
    (tiny(lr=0.0), None, "lr must be positive"),
    (tiny(lr=-1.0), None, "lr must be positive"),
    (tiny(method="nope"), None, "unknown method"),
    (tiny(architecture="gru"), None, "unknown architecture"),
    (tiny(dataset="no-such-data"), "bundled", "unknown dataset"),
    (tiny(), "one-class", "only one class"),
    (tiny(), "empty", "no training examples"),
    (tiny(max_train=1), "toy", "only one class"),
    (tiny(name="cnn-base-movie-snippets"), "toy", "shipped model"),
    (tiny(name="../escape"), "toy", "not allowed"),
    (tiny(name="my model"), "toy", "not allowed"),
])
def test_bad_settings_fail_before_training(masklens_home, settings, data, message):
    datasets = {None: toy_dataset(n_train=50, n_eval=10), "bundled": None, "one-class": _one_class(),
                "empty": _empty_train(), "toy": toy_dataset(n_train=50, n_eval=10)}
    with pytest.raises(ValueError, match=message):
        TrainingRun(settings, data=datasets[data])
    assert not (masklens_home / "models").exists()


def test_check_run_resolves_defaults_and_names(masklens_home):
    settings, data = check_run(TrainSettings(dataset="trec6", method="vmask", name="mine"))
    assert (settings.epochs, settings.batch_size, settings.lr) == (10, 50, 1e-3)
    assert data.name == "trec6" and settings.name == "mine"
    check_model_name("my-model_2.v1")
    assert not user_model_exists("mine")


def test_training_curves():
    import numpy as np

    from core.viz.training import accuracy_figure, loss_figure, smoothed

    np.testing.assert_allclose(smoothed([1, 3, 5, 7], window=2), [1, 2, 4, 6])
    np.testing.assert_allclose(smoothed([2, 4], window=5), [2, 3])
    with pytest.raises(ValueError):
        smoothed([1.0], window=0)
    figure = loss_figure([0.9, 0.7, 0.6, 0.5, 0.4, 0.3], steps_per_epoch=3)
    assert [trace.name for trace in figure.data][0] == "loss per step" and len(figure.data[1].y) == 6
    assert len(figure.layout.shapes) == 1  # one boundary between epoch 1 and 2
    accuracy = accuracy_figure([{"epoch": 1, "dev_accuracy": 0.5}, {"epoch": 2, "dev_accuracy": 0.75}])
    assert list(accuracy.data[0].y) == [50.0, 75.0] and list(accuracy.data[0].x) == [1, 2]


def test_vat_run_counts_its_phases(masklens_home):
    run = TrainingRun(tiny(architecture="lstm", method="vat", epochs=1, name="bg-vat"),
                      data=toy_dataset(n_train=100, n_eval=20))
    planned = run.state()
    assert planned.epochs > 1 and planned.total_steps == 2 * planned.epochs
    assert run.start().join(WAIT)
    state = run.state()
    assert state.status == "finished", state.error
    assert state.step == planned.total_steps and len(state.history) == planned.epochs
    assert {h["phase"] for h in state.history} >= {"compress", "learn"}
