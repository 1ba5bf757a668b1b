"""Progress of long library loops, with an estimate of the time left and cooperative cancellation.

A long job (explaining a text with several methods, explaining ``n`` test sentences for an
evaluation) is counted in *units*: one method, one explanation. The loop tells a :class:`Progress`
of each unit it finishes (:meth:`Progress.advance`), of units it did not have to compute because a
cache or a store had them (:meth:`Progress.skip`) and of the stage it enters
(:meth:`Progress.set_stage`). From the wall-clock seconds the computed units took it estimates the
seconds left (:attr:`Progress.seconds_left`, :func:`eta_seconds`); units served from a cache count
as done but are left out of that mean, so they do not make the estimate optimistic.

Every report is a *cancel point*: a :class:`CancelToken` that was cancelled (from any thread)
raises :class:`Cancelled` there, and the ``on_update`` callback may raise too (a Streamlit page's
progress bar does: Streamlit stops a script run by raising from the next ``st.*`` call). The
units finished before are kept (the evaluation store writes them to disk on the way out).

Inside a unit, the library's batch loops call :func:`heartbeat` once per forward chunk (the
classifier's, the masked LM's, a metric's, a GMASK step). While a loop runs under
:meth:`Progress.running` (``explain`` and ``evaluate`` run each unit so), a heartbeat is a cancel
point too: the token is checked every time and ``on_update`` is called at most every
:attr:`Progress.beat_seconds`, so a page's bar moves within a long method (``within``, the
fraction of the unit done, when the loop knows it) and a stop takes effect within one chunk
rather than at the end of the method. Without a running tracker a heartbeat does nothing.

Nothing here imports Streamlit; :func:`as_progress` wraps the plain ``(done, total, stage)``
callbacks that :func:`core.evaluation.evaluate` always took.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar

ProgressCallback = Callable[[int, int, str], None]
"""A plain progress callback: ``(done, total, stage)``, units done of ``total``, what is being done."""


class Cancelled(Exception):
    """Raised at a cancel point after :meth:`CancelToken.cancel`; the units finished before it are kept."""


class CancelToken:
    """A thread-safe flag a long job checks between units (:meth:`check`); :meth:`cancel` sets it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next cancel point (safe from any thread)."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` when :meth:`cancel` was called; else do nothing."""
        if self._event.is_set():
            raise Cancelled("cancelled")


def eta_seconds(timed_seconds: float, timed_units: int, remaining: float) -> float | None:
    """Seconds left: ``remaining`` units times the mean seconds per computed unit so far.

    Args:
        timed_seconds: wall-clock seconds the computed units took, in total.
        timed_units: how many units were computed (cached ones excluded).
        remaining: units still to do.

    Returns:
        ``remaining * timed_seconds / timed_units`` in seconds; 0.0 when nothing remains; None
        (no estimate yet) before the first computed unit.
    """
    if remaining <= 0:
        return 0.0
    if timed_units <= 0:
        return None
    return remaining * timed_seconds / timed_units


def format_eta(seconds: float | None) -> str:
    """``seconds`` left as a short phrase: ``"estimating…"`` (None), ``"about 40 s left"``, ``"about 3 min left"``."""
    if seconds is None:
        return "estimating…"
    if seconds < 1:
        return "under a second left"
    if seconds < 90:
        return f"about {seconds:.0f} s left"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min left"
    return f"about {seconds / 3600:.1f} h left"


class Progress:
    """Units done of a long job, the stage it is in and the seconds left; every report is a cancel point.

    Args:
        total: units the job has (may be set later with :meth:`set_total`).
        on_update: called with this object at every report, before the token is checked (so it
            may cancel at once); may raise to stop the job, e.g. a Streamlit progress bar.
        token: checked at every report; a cancelled token raises :class:`Cancelled`.
        clock: seconds, monotonic (``time.monotonic``; tests pass a fake clock).

    Time is measured from one report to the next: a unit's seconds are those since the previous
    report, so the work between two reports (building the explainer, say) counts towards the next
    computed unit, and a :meth:`skip` (or the first report after creation) restarts the clock.
    """

    def __init__(self, total: int = 0, on_update: Callable[[Progress], None] | None = None,
                 token: CancelToken | None = None, clock: Callable[[], float] = time.monotonic):
        self.total = int(total)
        self.done = 0
        self.stage = ""
        self.timed_units = 0
        self.timed_seconds = 0.0
        self.on_update = on_update
        self.token = token
        self.within = 0.0  # fraction of the unit under way, from the last heartbeat that knew it
        self.beat_seconds: float | None = 0.25  # None: heartbeats check the token but never call on_update
        self._clock = clock
        self._mark = clock()
        self._last_update = self._mark  # of on_update: a unit's start or a beat that called it
        self._outer: Progress | None = None
        self._within_origin: tuple[float, float] | None = None  # (time, within) of the unit's first known fraction

    def set_total(self, total: int) -> None:
        """Set the number of units of the job (no report)."""
        self.total = int(total)

    def advance(self, count: int = 1, stage: str | None = None) -> None:
        """``count`` units were computed since the last report (their seconds enter the mean); report."""
        now = self._clock()
        if count > 0:
            self.timed_seconds += now - self._mark
            self.timed_units += count
            self._mark = self._last_update = now
        self.done += count
        self.within, self._within_origin = 0.0, None
        self._report(stage)

    def skip(self, count: int, stage: str | None = None) -> None:
        """``count`` units were served from a cache or store (done, untimed); restart the clock; report."""
        self.done += count
        self.within, self._within_origin = 0.0, None
        self._mark = self._last_update = self._clock()
        self._report(stage)

    def set_stage(self, stage: str) -> None:
        """Enter ``stage`` (no unit done); report."""
        self._report(stage)

    @property
    def seconds_left(self) -> float | None:
        """Estimated seconds to finish the remaining units (:func:`eta_seconds`); None before a computed unit.

        While a unit is under way with a known fraction done (:attr:`within`), that part counts as
        done and, before any unit was computed, its pace since the first heartbeat that knew its
        fraction sets the estimate (so the work before its loop, e.g. marginalization's masked-LM
        pass, is not taken for the loop's pace).
        """
        remaining = self.total - self.done - self.within
        if self.timed_units == 0 and self._within_origin is not None and self.within > self._within_origin[1]:
            started, at = self._within_origin
            return max(remaining, 0.0) * (self._clock() - started) / (self.within - at)
        return eta_seconds(self.timed_seconds, self.timed_units, remaining)

    @property
    def fraction(self) -> float:
        """Done over total, within [0, 1] (1.0 for an empty job)."""
        return min(1.0, (self.done + self.within) / self.total) if self.total > 0 else 1.0

    def describe(self) -> str:
        """The time left as a phrase (:func:`format_eta`)."""
        return format_eta(self.seconds_left)

    @contextlib.contextmanager
    def running(self) -> Iterator["Progress"]:
        """Make this the tracker that :func:`heartbeat` reaches (in this thread or task) for the block.

        A tracker made running inside another one's block passes each heartbeat on to it, with its
        own :attr:`fraction` as the outer unit's fraction done (the inner job is one unit of the
        outer one, e.g. a method of a page's bar), so an outer job keeps its cancel points, and its
        bar moves, inside an inner one.
        """
        outer, before = _RUNNING.get(), self._outer
        self._outer = before if self in _chain(outer) else outer  # running again inside itself: no loop
        reset = _RUNNING.set(self)
        try:
            yield self
        finally:
            _RUNNING.reset(reset)
            self._outer = before

    def beat(self, within: float | None = None) -> None:
        """A cancel point inside the unit under way: check the token; call ``on_update`` when
        :attr:`beat_seconds` have passed since the unit began or the last beat that called it
        (``within``, if given, is the unit's fraction done, in [0, 1]); then pass the beat to the
        tracker this one runs inside."""
        if within is not None:
            self.within = min(max(float(within), 0.0), 1.0)
            if self._within_origin is None:
                self._within_origin = (self._clock(), self.within)
        if self.token is not None:
            self.token.check()
        if (self.on_update is not None and self.beat_seconds is not None
                and self._clock() - self._last_update >= self.beat_seconds):
            self._last_update = self._clock()
            self.on_update(self)
        if self._outer is not None:
            self._outer.beat(self.fraction if self.total > 0 else None)

    def _report(self, stage: str | None) -> None:
        if stage is not None:
            self.stage = stage
        if self.on_update is not None:
            self.on_update(self)
        if self.token is not None:
            self.token.check()


_RUNNING: ContextVar[Progress | None] = ContextVar("masklens_running_progress", default=None)


def _chain(progress: Progress | None) -> list[Progress]:
    """``progress`` and the trackers it passes beats to, innermost first."""
    chain = []
    while progress is not None and progress not in chain:
        chain.append(progress)
        progress = progress._outer
    return chain


def heartbeat(within: float | None = None) -> None:
    """Called by a batch loop once per chunk: the running tracker's :meth:`Progress.beat` (a cancel
    point; ``within`` the fraction of the unit done, when the loop knows it); nothing when no
    tracker is running. Raises what the tracker's token or ``on_update`` raises."""
    progress = _RUNNING.get()
    if progress is not None:
        progress.beat(within)


ProgressLike = Progress | ProgressCallback | None
"""What long library functions accept as ``on_progress``: a :class:`Progress`, a plain callback or None."""


def as_progress(on_progress: ProgressLike, total: int = 0) -> Progress:
    """``on_progress`` as a :class:`Progress` with ``total`` units.

    A :class:`Progress` is used as it is (its total set); a plain ``(done, total, stage)`` callback
    is called after every report (never at a heartbeat), exactly as before this module existed;
    None gives a silent one.
    """
    if isinstance(on_progress, Progress):
        on_progress.set_total(total)
        return on_progress
    if on_progress is None:
        return Progress(total)
    callback = on_progress
    progress = Progress(total, on_update=lambda p: callback(p.done, p.total, p.stage))
    progress.beat_seconds = None  # a plain callback counts units: heartbeats inside one are not reported
    return progress
