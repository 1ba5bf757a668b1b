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


def test_a_heartbeat_outside_a_running_tracker_does_nothing():
    from core.progress import heartbeat

    heartbeat(0.5)  # no tracker: no error, nothing to check
    token = CancelToken()
    token.cancel()
    progress = Progress(2, token=token)
    heartbeat()  # not running: its token is not reached
    with progress.running(), pytest.raises(Cancelled):
        heartbeat()
    heartbeat()  # the block ended: nothing is running again


def test_beats_check_the_token_every_time_and_redraw_at_most_every_beat_seconds():
    from core.progress import heartbeat

    clock, updates = FakeClock(), []
    progress = Progress(4, on_update=lambda p: updates.append((clock.now, p.within)), clock=clock)
    with progress.running():
        heartbeat()               # as the unit began: not drawn
        clock.now += 5.0          # work before the unit's loop (e.g. the masked LM's pass)
        heartbeat(0.0)            # the loop's first chunk: drawn (5 s since the unit began)
        assert progress.within == 0.0 and progress.seconds_left is None
        clock.now += 0.1
        heartbeat(0.05)           # 0.1 s after that draw: not drawn, but the fraction moved
        assert progress.fraction == pytest.approx(0.0125)
        clock.now += 0.9
        heartbeat(0.1)            # 1 s into the loop: drawn
    assert updates == [(105.0, 0.0), (106.0, 0.1)]
    # before any unit was computed, the loop's pace since its first chunk gives the estimate: 0.1 of
    # a unit in 1 s (the 5 s before the loop left out), 3.9 units left -> 39 s
    assert progress.seconds_left == pytest.approx(3.9 * 1.0 / 0.1)
    progress.advance(1)
    assert progress.within == 0.0 and progress.fraction == 0.25


def test_an_inner_tracker_passes_each_beat_to_the_one_it_runs_inside():
    from core.progress import heartbeat

    outer_token, seen = CancelToken(), []
    outer = Progress(1, on_update=lambda p: seen.append("outer"), token=outer_token)
    outer.beat_seconds = 0.0
    inner = as_progress(lambda *call: seen.append("plain"), 3)  # a plain callback: units only
    with outer.running(), inner.running():
        heartbeat(0.5)            # half of the first of the inner job's 3 units: 1/6 of the outer unit
        assert seen == ["outer"] and inner.within == 0.5 and outer.within == pytest.approx(0.5 / 3)
        with outer.running():     # running again inside itself (e.g. a page and the library both): no loop
            heartbeat()
        assert seen == ["outer", "outer"]
        outer_token.cancel()      # e.g. the page's Cancel, while the inner job is in a forward chunk
        with pytest.raises(Cancelled):
            heartbeat()


@pytest.mark.parametrize("method, counted", [("lime", "core.explain.features.WordFeatures.keep_logits"),
                                             ("marginal", "core.models.cnn.CNNClassifier._head_after_swap")])
def test_explain_stops_inside_a_long_method_at_its_next_forward_chunk(masklens_home, monkeypatch, method, counted):
    """Cancelled during its third forward chunk, a method does not run its other chunks (before
    heartbeats, a method ran to its end and only the next method was stopped)."""
    import importlib

    from core.explain.registry import explain
    from core.lm.priors import UniformLikelihood
    from core.models import load_model

    module_name, cls_name, attr = counted.rsplit(".", 2)
    cls = getattr(importlib.import_module(module_name), cls_name)
    original, calls = getattr(cls, attr), {"n": 0}

    def counting(*args, **kwargs):
        calls["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(cls, attr, counting)
    model = load_model("cnn-vmask-movie-snippets", device="cpu")
    text = "a gripping , beautifully acted film that never lets go of you"
    words = list(model.tokenizer.vocab.index)[2:400]
    params = ({"n_samples": 400, "batch_size": 8} if method == "lime" else
              {"likelihood": UniformLikelihood(words), "sigma": 0.0, "batch_size": 16})
    explain(model, text, methods=[method], **params)
    full = calls["n"]
    token, beats = CancelToken(), {"n": 0}

    def cancel_on_third_beat(progress: Progress) -> None:
        beats["n"] += progress.done == 0 and progress.stage == method
        if beats["n"] == 4:       # the report entering the method, then three beats
            token.cancel()

    progress = Progress(on_update=cancel_on_third_beat, token=token)
    progress.beat_seconds = 0.0
    calls["n"] = 0
    with pytest.raises(Cancelled):
        explain(model, text, methods=[method], on_progress=progress, **params)
    assert full > 10 and calls["n"] <= 4 and progress.done == 0


def test_an_evaluation_cancelled_inside_an_explanation_keeps_the_ones_before_and_resumes(masklens_home):
    from core.evaluation import evaluate

    args = dict(explainers=("lime",), metrics=("aopc",), n=5, device="cpu", progress=False, flush_every=1,
                params={"lime": {"n_samples": 200, "batch_size": 10}})
    token, at_three = CancelToken(), {"n": 0}

    def cancel_inside_the_fourth(progress: Progress) -> None:
        at_three["n"] += progress.done == 3
        if at_three["n"] == 2:    # the report after the third example, then a beat inside the fourth
            token.cancel()

    progress = Progress(on_update=cancel_inside_the_fourth, token=token)
    progress.beat_seconds = 0.0
    with pytest.raises(Cancelled):
        evaluate("cnn-vmask-movie-snippets", **args, on_progress=progress)
    assert progress.done == 3
    resumed = Progress()
    records = evaluate("cnn-vmask-movie-snippets", **args, on_progress=resumed)
    assert records[0]["explained"] == 2 and records[0]["n"] == 5 and resumed.timed_units == 2
