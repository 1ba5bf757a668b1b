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
progress bar does: Streamlit stops a script run by raising from the next ``st.*`` call). Either
way the loop stops *between* units, so the units finished before are kept (the evaluation store
writes them to disk on the way out). A single unit is never interrupted: the granularity of a
cancel is one unit.

Nothing here imports Streamlit; :func:`as_progress` wraps the plain ``(done, total, stage)``
callbacks that :func:`core.evaluation.evaluate` always took.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

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


def eta_seconds(timed_seconds: float, timed_units: int, remaining: int) -> float | None:
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
        self._clock = clock
        self._mark = clock()

    def set_total(self, total: int) -> None:
        """Set the number of units of the job (no report)."""
        self.total = int(total)

    def advance(self, count: int = 1, stage: str | None = None) -> None:
        """``count`` units were computed since the last report (their seconds enter the mean); report."""
        now = self._clock()
        if count > 0:
            self.timed_seconds += now - self._mark
            self.timed_units += count
            self._mark = now
        self.done += count
        self._report(stage)

    def skip(self, count: int, stage: str | None = None) -> None:
        """``count`` units were served from a cache or store (done, untimed); restart the clock; report."""
        self.done += count
        self._mark = self._clock()
        self._report(stage)

    def set_stage(self, stage: str) -> None:
        """Enter ``stage`` (no unit done); report."""
        self._report(stage)

    @property
    def seconds_left(self) -> float | None:
        """Estimated seconds to finish the remaining units (:func:`eta_seconds`); None before a computed unit."""
        return eta_seconds(self.timed_seconds, self.timed_units, self.total - self.done)

    @property
    def fraction(self) -> float:
        """Done over total, within [0, 1] (1.0 for an empty job)."""
        return min(1.0, self.done / self.total) if self.total > 0 else 1.0

    def describe(self) -> str:
        """The time left as a phrase (:func:`format_eta`)."""
        return format_eta(self.seconds_left)

    def _report(self, stage: str | None) -> None:
        if stage is not None:
            self.stage = stage
        if self.on_update is not None:
            self.on_update(self)
        if self.token is not None:
            self.token.check()


ProgressLike = Progress | ProgressCallback | None
"""What long library functions accept as ``on_progress``: a :class:`Progress`, a plain callback or None."""


def as_progress(on_progress: ProgressLike, total: int = 0) -> Progress:
    """``on_progress`` as a :class:`Progress` with ``total`` units.

    A :class:`Progress` is used as it is (its total set); a plain ``(done, total, stage)`` callback
    is called after every report, exactly as before this module existed; None gives a silent one.
    """
    if isinstance(on_progress, Progress):
        on_progress.set_total(total)
        return on_progress
    if on_progress is None:
        return Progress(total)
    callback = on_progress
    return Progress(total, on_update=lambda p: callback(p.done, p.total, p.stage))
