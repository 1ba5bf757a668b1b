"""The background training runner: a full tiny run, stopping, cancelling, concurrent runs, a failing or
killed child process, and validation. Each run starts a child process (~2-4 s to import torch)."""

from __future__ import annotations

import builtins
import hashlib
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from core.data.datasets import DatasetSplits, TextSplit
from core.registry import list_models
from core.training import TrainSettings
from core.training.background import TrainingRun, check_model_name, check_run, user_model_exists
from tests.toy import toy_dataset

WAIT = 120  # seconds; a tiny run takes a few seconds, mostly the child's start


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


def wait_until(condition, timeout: float = WAIT, every: float = 0.02) -> None:
    """Poll ``condition()`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(every)


def weights_sha256(path: str) -> str:
    """SHA-256 of a checkpoint's weights file."""
    return hashlib.sha256((Path(path) / "model.safetensors").read_bytes()).hexdigest()


def test_stop_takes_effect_within_one_step_and_keeps_the_best_epoch(masklens_home):
    run = TrainingRun(tiny(epochs=200, name="bg-stopped"), data=toy_dataset(n_train=200, n_eval=50)).start()
    wait_until(lambda: run.state().step >= 1)
    asked = run.stop()
    assert asked.status == "stopping" and asked.step >= 1
    assert run.join(WAIT)
    state = run.state()
    assert state.status == "stopped" and run.result.stopped_early
    assert asked.step <= state.step <= asked.step + 1 and len(state.losses) <= len(asked.losses) + 1
    assert state.step < state.total_steps and len(state.losses) == state.step
    assert len(state.history) == state.epoch and state.metrics["best_epoch"] >= 1
    assert user_model_exists("bg-stopped") and state.path == str(masklens_home / "models" / "bg-stopped")
    assert run.stop().status == "stopped"  # stopping a run that ended changes nothing


def test_the_child_trains_with_the_thread_policy_and_estimates_the_time_left(masklens_home, monkeypatch):
    # torch's own default is one thread per core: on 2 cores shared with the Streamlit process that was 5x slower
    monkeypatch.delenv("MASKLENS_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    run = TrainingRun(tiny(epochs=200, name="bg-threads"), data=toy_dataset(n_train=200, n_eval=50))
    assert run.threads == run.state().threads == 1
    run.start()
    wait_until(lambda: run.state().step >= 3)
    state = run.state()
    assert state.remaining is not None and 0 < state.remaining < 600
    run.stop()
    assert run.join(WAIT)
    state = run.state()
    assert state.status == "stopped" and run.result.threads == state.threads == 1 and state.remaining is None


def test_a_bad_thread_setting_fails_before_any_process_starts(masklens_home, monkeypatch):
    monkeypatch.setenv("MASKLENS_THREADS", "0")
    with pytest.raises(ValueError, match="MASKLENS_THREADS must be a positive whole number"):
        TrainingRun(tiny(), data=toy_dataset(n_train=50, n_eval=10))


def test_stop_before_start_cancels_the_run(masklens_home):
    run = TrainingRun(tiny(name="bg-cancelled"), data=toy_dataset(n_train=100, n_eval=20))
    assert run.stop().status == "stopped"
    state = run.state()
    assert state.done and state.step == 0 and not state.losses and state.metrics is None and state.path is None
    assert run.join(0) and not run.running and run.pid is None and run.result is None
    with pytest.raises(RuntimeError, match="cancelled"):
        run.start()
    assert run.state().status == "stopped" and not (masklens_home / "models").exists()


def test_start_from_two_threads_starts_once(masklens_home, monkeypatch):
    launched = []

    def fake_supervise(self):  # no child process: only the start-once rule is under test
        launched.append(self)
        with self._lock:
            self._state.status = "finished"

    monkeypatch.setattr(TrainingRun, "_supervise", fake_supervise)
    data = toy_dataset(n_train=50, n_eval=10)
    with often_switching_threads():
        for trial in range(50):
            start_twice_at_once(TrainingRun(tiny(name=f"bg-race-{trial}"), data=data))
    assert len(launched) == 50


@contextmanager
def often_switching_threads():
    """Switch threads as often as the interpreter allows, so a check-then-act race shows up."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def start_twice_at_once(run: TrainingRun) -> None:
    """Call ``run.start()`` from two threads released together; exactly one may succeed."""
    barrier, outcomes = threading.Barrier(2), []

    def start_it():
        barrier.wait()
        try:
            run.start()
            outcomes.append("started")
        except RuntimeError as err:
            outcomes.append(str(err))

    threads = [threading.Thread(target=start_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["started", "this run was already started"], outcomes
    assert run.join(WAIT)


def test_concurrent_runs_give_the_same_result_as_one_alone(masklens_home, monkeypatch):
    # one torch thread per child (read at its torch import): two 2-thread children on 2 busy cores
    # spin-wait on each other and make this test take half a minute; all three runs use the same count
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    data = toy_dataset(n_train=200, n_eval=50)
    settings = tiny(method="vmask", name="bg-alone")  # dropout and Gumbel sampling draw from torch's generator
    alone = TrainingRun(settings, data=data).start()
    assert alone.join(WAIT) and alone.state().status == "finished", alone.state().error
    together = [TrainingRun(replace(settings, name=f"bg-together-{i}"), data=data).start() for i in range(2)]
    assert all(run.join(WAIT) for run in together)

    def outcome(run):
        state = run.state()
        assert state.status == "finished", state.error
        metrics = {k: v for k, v in state.metrics.items() if k != "train_seconds"}  # wall time differs
        return metrics, [h["dev_accuracy"] for h in state.history], state.losses, weights_sha256(state.path)

    assert outcome(together[0]) == outcome(alone) == outcome(together[1])
    assert len({run.pid for run in [alone, *together]}) == 3


@pytest.mark.parametrize("signum, expected", [
    (signal.SIGKILL, "ChildProcessError: the training process ended without a result "
                     "(exit code -9 (killed by SIGKILL))"),
    (signal.SIGINT, "KeyboardInterrupt"),  # a BaseException inside the child's training
], ids=["SIGKILL", "SIGINT"])
def test_a_killed_or_interrupted_child_is_reported_as_failed(masklens_home, signum, expected):
    name = f"bg-signal-{signum}"
    run = TrainingRun(tiny(epochs=200, name=name), data=toy_dataset(n_train=200, n_eval=50)).start()
    wait_until(lambda: run.state().step >= 1)
    assert run.pid is not None and run.pid != os.getpid()
    os.kill(run.pid, signum)
    assert run.join(10), "a killed child must end the run within seconds"
    state = run.state()
    assert state.status == "failed" and state.done and not run.running
    assert state.error == expected and state.step < state.total_steps
    assert run.result is None and not user_model_exists(name)


def test_a_failure_in_the_child_is_reported(masklens_home, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the models directory should be", encoding="utf-8")
    run = TrainingRun(tiny(name="bg-failed"), data=toy_dataset(n_train=100, n_eval=20), output_dir=blocker).start()
    assert run.join(WAIT)
    state = run.state()
    assert state.status == "failed" and state.done and state.step == state.total_steps  # trained, then saving failed
    kind, _, message = state.error.partition(": ")
    assert issubclass(getattr(builtins, kind, type(None)), OSError) and str(blocker) in message, state.error
    assert run.result is None and blocker.read_text(encoding="utf-8").startswith("a file")


def test_an_exception_in_the_reader_thread_ends_the_run(masklens_home, monkeypatch):
    def interrupted(self, event):
        raise KeyboardInterrupt("stop now")

    monkeypatch.setattr(TrainingRun, "_on_event", interrupted)  # BaseException while folding the first event
    run = TrainingRun(tiny(epochs=200, name="bg-interrupted"), data=toy_dataset(n_train=200, n_eval=50)).start()
    assert run.join(WAIT)
    state = run.state()
    assert state.status == "failed" and state.error == "KeyboardInterrupt: stop now"
    assert run.result is None and not user_model_exists("bg-interrupted")


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


def test_the_child_does_not_run_the_page_script_that_started_it(masklens_home, tmp_path, monkeypatch):
    """Streamlit runs a page as ``__main__``; spawn would import that script again in the child (running the
    page outside Streamlit: slower starts and a log full of warnings)."""
    import types

    marker = tmp_path / "page-ran"
    page = tmp_path / "5_Train.py"
    page.write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    run = TrainingRun(tiny(epochs=1), data=toy_dataset(n_train=100, n_eval=20))
    assert run.start().join(WAIT) and run.state().status == "finished", run.state().error
    assert not marker.exists()


def test_a_run_whose_watcher_is_gone_stops_after_the_grace_and_keeps_the_best_epoch(masklens_home):
    watched = {"yes": True}
    run = TrainingRun(tiny(epochs=200, name="bg-orphan"), data=toy_dataset(n_train=200, n_eval=50),
                      keep_alive=lambda: watched["yes"], orphan_grace=0.3).start()
    wait_until(lambda: run.state().step >= 2)
    watched["yes"] = False        # the tab was closed
    gone = time.monotonic()
    assert run.join(WAIT)
    state = run.state()
    assert state.status == "stopped" and state.stop_reason == "its page was closed" and run.result.stopped_early
    assert time.monotonic() - gone < WAIT and state.step < state.total_steps
    assert user_model_exists("bg-orphan") and state.metrics["best_epoch"] >= 1


def test_a_watcher_back_within_the_grace_or_a_broken_check_keeps_the_run_going(masklens_home):
    answers = iter([True, False, False, True] + [True] * 10_000)  # a browser that reconnects
    run = TrainingRun(tiny(epochs=3, name="bg-back"), data=toy_dataset(n_train=200, n_eval=50),
                      keep_alive=lambda: next(answers), orphan_grace=60).start()
    assert run.join(WAIT) and run.state().status == "finished" and run.state().stop_reason is None

    def broken() -> bool:
        raise RuntimeError("the session manager is gone")

    run = TrainingRun(tiny(epochs=2, name="bg-broken"), data=toy_dataset(n_train=200, n_eval=50),
                      keep_alive=broken, orphan_grace=0).start()
    assert run.join(WAIT) and run.state().status == "finished"
