"""core.progress: the time-left estimate (by hand, on a fake clock), cancellation between units, and the
hooks of core.explain.registry.explain and core.evaluation.evaluate (a cancel keeps what was stored)."""

from __future__ import annotations

import pytest

from core.progress import Cancelled, CancelToken, Progress, as_progress, eta_seconds, format_eta


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_eta_is_the_mean_seconds_per_computed_unit_times_those_left():
    clock = FakeClock()
    progress = Progress(5, clock=clock)
    assert progress.seconds_left is None and progress.describe() == "estimating…"
    clock.now += 2.0
    progress.advance(1, "a")      # 2 s for one unit
    clock.now += 4.0
    progress.advance(1, "b")      # 4 s: mean 3 s a unit, 3 left
    assert progress.seconds_left == pytest.approx(9.0)
    assert progress.describe() == "about 9 s left" and progress.fraction == pytest.approx(0.4)
    clock.now += 600.0
    progress.skip(1, "cached")    # served from a cache: done, but its 600 s are not a unit's time
    assert progress.done == 3 and progress.seconds_left == pytest.approx(2 * 3.0)
    clock.now += 0.5
    progress.set_stage("c")       # a stage change does not restart the clock...
    clock.now += 8.5
    progress.advance(1)           # ...so this unit took 9 s: mean (2 + 4 + 9) / 3 = 5 s, 1 left
    assert progress.stage == "c" and progress.seconds_left == pytest.approx(5.0)
    progress.advance(1)
    assert progress.seconds_left == 0.0 and progress.fraction == 1.0


def test_eta_helpers():
    assert eta_seconds(10.0, 4, 6) == pytest.approx(15.0)
    assert eta_seconds(0.0, 0, 3) is None and eta_seconds(5.0, 0, 0) == 0.0
    assert [format_eta(s) for s in (0.2, 42.4, 180, 3 * 3600)] == [
        "under a second left", "about 42 s left", "about 3 min left", "about 3.0 h left"]


def test_a_cancelled_token_stops_between_units_and_keeps_the_finished_ones():
    token, finished = CancelToken(), []
    progress = Progress(10, token=token)
    with pytest.raises(Cancelled):
        for unit in range(10):
            finished.append(unit)     # the unit's work, kept once done
            if unit == 2:
                token.cancel()        # e.g. from another thread, during unit 2
            progress.advance(1)
    assert finished == [0, 1, 2] and progress.done == 3


def test_a_raising_update_callback_stops_the_job_too():
    def stop_at_two(progress: Progress) -> None:
        if progress.done == 2:
            raise KeyboardInterrupt   # as Streamlit's StopException: not an Exception

    progress = Progress(4, on_update=stop_at_two)
    progress.advance(1)
    with pytest.raises(KeyboardInterrupt):
        progress.advance(1)


def test_as_progress_calls_a_plain_callback_on_every_report():
    calls = []
    progress = as_progress(lambda *call: calls.append(call), total=3)
    progress.skip(0, "zero")
    progress.advance(1)
    progress.set_stage("zero: aopc")
    assert calls == [(0, 3, "zero"), (1, 3, "zero"), (1, 3, "zero: aopc")]
    own = Progress()
    assert as_progress(own, 7) is own and own.total == 7
    assert as_progress(None, 2).total == 2


def test_explain_reports_each_method_and_cancels_between_methods(masklens_home):
    from core.explain.registry import explain
    from core.models import load_model

    model = load_model("cnn-vmask-movie-snippets", device="cpu")
    calls = []
    explain(model, "a good film", methods=["zero", "unk"], on_progress=lambda *call: calls.append(call))
    assert calls == [(0, 2, "zero"), (1, 2, "zero"), (1, 2, "unk"), (2, 2, "unk")]
    token = CancelToken()
    progress = Progress(on_update=lambda p: token.cancel() if p.done == 1 else None, token=token)
    with pytest.raises(Cancelled):
        explain(model, "a good film", methods=["zero", "unk"], on_progress=progress)
    assert progress.done == 1 and progress.stage == "zero"  # unk never started


def test_a_cancelled_evaluation_keeps_the_stored_explanations_and_resumes(masklens_home, monkeypatch):
    from core.evaluation import evaluate
    from core.explain.erasure import ZeroErasure

    calls = {"n": 0}
    original = ZeroErasure.explain

    def counting(self, *args, **kwargs):
        calls["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ZeroErasure, "explain", counting)
    args = dict(explainers=("zero",), metrics=("aopc",), n=6, device="cpu", progress=False, flush_every=100)
    token = CancelToken()
    progress = Progress(on_update=lambda p: token.cancel() if p.done == 4 else None, token=token)
    with pytest.raises(Cancelled):
        evaluate("cnn-vmask-movie-snippets", **args, on_progress=progress)
    assert calls["n"] == 4 and progress.done == 4 and progress.timed_units == 4
    resumed = Progress()
    records = evaluate("cnn-vmask-movie-snippets", **args, on_progress=resumed)
    assert calls["n"] == 6 and records[0]["explained"] == 2 and records[0]["n"] == 6  # only the 2 missing
    assert resumed.done == 6 and resumed.timed_units == 2  # the 4 stored ones are left out of the estimate
