"""Training in a background process, with live progress, for the Train page (no Streamlit here).

::

    run = TrainingRun(TrainSettings(dataset="trec6", method="vmask", epochs=2)).start()
    while not run.join(timeout=1.0):
        state = run.state()          # progress, per-step losses, per-epoch dev accuracy
        print(state.step, state.total_steps, state.losses[-1:] )
    run.state().metrics, run.state().path

Each run calls :func:`core.training.train` in its own child process (``spawn``): training seeds
torch's global generator (initialisation, dropout, mask sampling), so two runs sharing one
process would change each other's results. The child sends every step and epoch event over a
pipe and waits for the parent's answer (go on or stop) before the next step; a reader thread in
the parent folds the events into :class:`RunState`. So the state is never more than one step
behind, :meth:`TrainingRun.stop` takes effect after the current step, and a child whose parent
died stops at its next step. A run given a ``keep_alive`` check (the Train page: is the browser
session still connected) stops the same way once the check has failed for ``orphan_grace``
seconds, so a closed tab does not leave training burning the CPU.

:func:`check_run` validates everything that can be checked before training
(settings, dataset, classes, model name, device), so bad settings fail at once
with a clear ``ValueError`` instead of inside the child. When training stops
early, :func:`core.training.train` keeps the best epoch so far and still saves it.

``spawn`` imports the parent's main module again in the child. Streamlit runs a page as
``__main__``, so the child would run the page script outside Streamlit (a slower start and a
warning per Streamlit call); the child is started with a bare ``__main__`` instead
(:func:`_main_module_not_reimported`), and ``_child_main`` needs nothing from it.

The child applies :mod:`core.threads`' policy (a thread per free core, one on a busy machine,
unless ``$MASKLENS_THREADS`` says otherwise; resolved in the parent): torch's default of one
thread per core made the child and the Streamlit process spin-wait on each other, 5x slower than
the same run from the command line.
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import types
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from core import paths
from core.data.datasets import DatasetSplits, load_dataset
from core.device import pick_device
from core.registry import new_model_directory
from core.threads import apply_thread_policy, thread_count
from core.training.trainer import TrainEvent, TrainSettings, epoch_phases, train


def check_model_name(name: str, output_dir: str | Path | None = None, overwrite: bool = True) -> None:
    """Raise ValueError unless ``name`` can name a user checkpoint: the one rule of every entry point,
    :func:`core.registry.new_model_directory` (plain name, not a shipped model's, an existing one only
    with ``overwrite``, and then only a MaskLens checkpoint)."""
    new_model_directory(name, output_dir, overwrite)


def user_model_exists(name: str, output_dir: str | Path | None = None) -> bool:
    """True when a user checkpoint called ``name`` already exists (training would replace it)."""
    return (Path(output_dir or paths.user_models_dir()) / name / "config.json").exists()


def check_run(settings: TrainSettings, data: DatasetSplits | None = None, output_dir: str | Path | None = None,
              overwrite: bool = False) -> tuple[TrainSettings, DatasetSplits]:
    """Validate a run before it starts; returns the resolved settings and the dataset (before subsetting).

    Checks: epochs >= 1 and the other counts and rates (:meth:`TrainSettings.resolved`), the bundled
    dataset loads (or ``data`` is given), the training split (after ``max_train``) is not empty and has
    at least two classes, dev and test are not empty, the model name is allowed (an existing model only
    with ``overwrite``) and the device exists.

    Raises:
        ValueError: with a message that says what to change.
    """
    if settings.epochs is not None and settings.epochs < 1:  # resolved() says "positive"; a count reads better
        raise ValueError(f"epochs must be at least 1, got {settings.epochs}")
    if data is not None:
        settings = replace(settings, dataset=data.name)
    resolved = settings.resolved()
    check_model_name(resolved.name, output_dir, overwrite)
    pick_device(resolved.device)
    data = data if data is not None else load_dataset(resolved.dataset)
    used = data.subset(resolved.max_train, resolved.max_eval, seed=resolved.seed) \
        if (resolved.max_train or resolved.max_eval) else data
    if len(used.train) == 0:
        raise ValueError(f"dataset {data.name!r} has no training examples")
    classes = sorted(set(used.train.labels))
    if len(classes) < 2:
        only = data.label_names[classes[0]] if classes else "none"
        raise ValueError(f"the training examples of {data.name!r} have only one class ({only!r}); a classifier "
                         "needs at least two" + (" (raise max_train)" if resolved.max_train else ""))
    for split in ("dev", "test"):
        if len(used.split(split)) == 0:
            raise ValueError(f"dataset {data.name!r} has no {split} examples; the {split} split is needed "
                             "to pick the best epoch and to measure accuracy")
    return resolved, data


CHILD_EXIT_GRACE = 10.0  # seconds a child may take to exit after its last message before it is killed
ORPHAN_GRACE_SECONDS = 10.0  # a run whose watcher is gone this long stops (the best epoch so far is saved)


@dataclass
class RunState:
    """A snapshot of a background run.

    Attributes:
        name: the checkpoint name.
        status: ``preparing`` (starting the process, building the model, encoding the data), ``training``,
            ``stopping`` (stop asked, finishing the current step), ``saving`` (test accuracy, importance,
            checkpoint), then ``finished``, ``stopped`` (stopped early: the best epoch so far was saved, or
            cancelled before the start: nothing trained) or ``failed``.
        step, total_steps: optimizer steps done and planned.
        epoch, epochs: current epoch (1-based) and planned epochs (for VAT including its phases).
        losses: training loss of every step so far.
        history: per finished epoch: ``epoch``, ``train_loss``, ``dev_accuracy``, ``seconds``, ``phase``
            (``train``; VAT: ``joint``, ``compress``, ``learn``).
        metrics: final metrics (dev/test accuracy, ...) once done, else None.
        path: checkpoint directory once saved.
        error: ``"Type: message"`` when failed (``"Type"`` alone for an exception without a message).
        elapsed: seconds from the start to now (to the end once done).
        remaining: estimated seconds of training left (steps left times the mean seconds per step
            since the first step, dev evaluations included); None before two steps or once done.
        threads: the CPU threads the child trains with (:mod:`core.threads`).
        stop_reason: why a stopped run stopped when nobody asked: ``"its page was closed"`` after
            the run's ``keep_alive`` said no for ``orphan_grace`` seconds; None otherwise.
    """

    name: str
    status: str
    step: int
    total_steps: int
    epoch: int
    epochs: int
    losses: list[float] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    metrics: dict | None = None
    path: str | None = None
    error: str | None = None
    elapsed: float = 0.0
    remaining: float | None = None
    threads: int = 1
    stop_reason: str | None = None

    @property
    def done(self) -> bool:
        """True once the run has finished, stopped or failed."""
        return self.status in ("finished", "stopped", "failed")

    @property
    def fraction(self) -> float:
        """Share of the planned steps done, in [0, 1]."""
        return min(self.step / self.total_steps, 1.0) if self.total_steps else 0.0


@dataclass
class RunResult:
    """What a finished or stopped run sent back (the model itself stays on disk).

    Attributes:
        metrics: ``dev_accuracy``, ``best_epoch``, ``test_accuracy``, ``train_seconds``, ...
        history: the trainer's per-epoch records (including a stopped epoch).
        path: the checkpoint directory (None when not saved).
        stopped_early: training was stopped before its last epoch.
        threads: torch's intra-op thread count in the child as it trained (None when not reported).
    """

    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    path: Path | None
    stopped_early: bool
    threads: int | None = None

    @cached_property
    def model(self):
        """The saved model, loaded from :attr:`path` on first use (a :class:`core.models.LoadedModel`)."""
        from core.models import load_model

        if self.path is None:
            raise RuntimeError("this run saved no checkpoint")
        return load_model(self.path)


def _plain(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, str, numbers), so nothing but data crosses the pipe.

    NumPy and torch scalars become Python numbers; anything else JSON cannot hold becomes its ``str``.
    """
    return json.loads(json.dumps(value, default=lambda item: item.item() if hasattr(item, "item") else str(item)))


_MAIN_SWAP = threading.Lock()


@contextmanager
def _main_module_not_reimported():
    """While a spawn child starts: ``__main__`` is a bare module, so the child does not import the caller's
    script (a Streamlit page) again. Under a lock, and put back at once."""
    with _MAIN_SWAP:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


def _child_main(conn) -> None:
    """The child process: run the job received over ``conn``, report the outcome, exit (0, or 1 after an error).

    Messages sent: ``("event", TrainEvent fields)`` after every step and epoch (then it waits for the
    parent's answer, True: go on, False: stop), and at the end ``("result", {...})`` or
    ``("error", "Type: message")``.
    """
    from tqdm.std import tqdm

    tqdm.set_lock(threading.RLock())  # tqdm's default is a multiprocessing semaphore, which os._exit would leak
    exitcode = 0
    try:
        _train_in_child(conn)
    except BaseException as err:
        exitcode = 1
        traceback.print_exc()  # into the app's log
        try:
            conn.send(("error", _describe(err)))
        except OSError:  # the parent is gone: nobody to tell
            pass
    finally:
        conn.close()
        sys.stdout.flush()
        sys.stderr.flush()
    # Everything is saved and sent: skip the interpreter's teardown of torch (about a second of CPU).
    os._exit(exitcode)


def _train_in_child(conn) -> None:
    """Receive (settings, data, output_dir, overwrite, threads), train with a callback that asks the parent,
    send the result."""
    settings, data, output_dir, overwrite, threads = conn.recv()
    apply_thread_policy(threads)

    def callback(event: TrainEvent) -> bool:
        conn.send(("event", asdict(event)))
        return bool(conn.recv())

    result = train(settings, data=data, callback=callback, output_dir=output_dir, progress=False,
                   overwrite=overwrite)
    import torch  # already loaded by train

    conn.send(("result", _plain({"metrics": result.metrics, "history": result.history,
                                 "path": str(result.path) if result.path else None,
                                 "stopped_early": result.stopped_early,
                                 "threads": torch.get_num_threads()})))  # not the model: it is on disk


def _describe(err: BaseException) -> str:
    """``"Type: message"``, or just ``"Type"`` for an exception without a message (e.g. KeyboardInterrupt)."""
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _last_message(conn) -> tuple | None:
    """The child's final result or error still in the pipe after it closed its end (None when there is none)."""
    try:
        while conn.poll(1.0):
            message = conn.recv()
            if message[0] != "event":
                return message
    except (EOFError, OSError):
        pass
    return None


def _exit_message(exitcode: int | None) -> str:
    """Why a child that sent no result ended, e.g. ``exit code -9 (killed by SIGKILL)``."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"exit code {exitcode} (killed by {signal.Signals(-exitcode).name})"
        except ValueError:
            pass
    return f"exit code {exitcode}"


class TrainingRun:
    """One :func:`core.training.train` call in a child process, observable and stoppable.

    Args:
        settings: the run's settings (validated at once with :func:`check_run`).
        data: a dataset instead of the bundled ``settings.dataset`` (e.g. an uploaded CSV); it is
            sent to the child over a pipe.
        output_dir: where the checkpoint goes (default ``$MASKLENS_HOME/models``, resolved here).
        overwrite: replace an existing user model of that name (else the name is refused at once).
        keep_alive: asked at every step whether whoever watches the run is still there (the Train
            page passes "is this browser session still connected"); after it has said no for
            ``orphan_grace`` seconds the run stops as :meth:`stop` does (the best epoch so far is
            saved) and ``state().stop_reason`` says so. None: the run never stops on its own.
        orphan_grace: seconds of "no" tolerated first (a browser that reconnects keeps its run).

    Raises:
        ValueError: bad settings or data (see :func:`check_run`), before any process starts.
    """

    def __init__(self, settings: TrainSettings, data: DatasetSplits | None = None,
                 output_dir: str | Path | None = None, overwrite: bool = False,
                 keep_alive: Callable[[], bool] | None = None, orphan_grace: float = ORPHAN_GRACE_SECONDS):
        self.settings, self.data = check_run(settings, data, output_dir, overwrite)
        self.keep_alive, self.orphan_grace = keep_alive, float(orphan_grace)
        self._unwatched_since: float | None = None
        self.output_dir = Path(output_dir) if output_dir else paths.user_models_dir()
        self.overwrite = overwrite
        self.threads = thread_count()  # a bad $MASKLENS_THREADS fails here, not in the child
        n_train = len(self.data.subset(self.settings.max_train, None, self.settings.seed).train
                      if self.settings.max_train else self.data.train)
        epochs = len(epoch_phases(self.settings))  # VAT adds compressor/learner phases to its warm-up
        steps = -(-n_train // self.settings.batch_size) * epochs
        self._state = RunState(self.settings.name, "preparing", 0, steps, 0, epochs, threads=self.threads)
        self._first_step: tuple[float, int] | None = None  # (time, step) of the first step event
        self._lock = threading.Lock()
        self._stop_asked = False
        self._cancelled = False
        self._thread: threading.Thread | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._started = 0.0
        self._ended = 0.0
        self.result: RunResult | None = None

    def start(self) -> "TrainingRun":
        """Start the child process and its reader thread (once); returns ``self``.

        Raises:
            RuntimeError: the run was already started, or cancelled by :meth:`stop` before the start.
        """
        with self._lock:  # check and start in one step: two callers cannot both start
            if self._cancelled:
                raise RuntimeError("this run was cancelled (stop() before start()); create a new TrainingRun")
            if self._thread is not None:
                raise RuntimeError("this run was already started")
            self._started = time.perf_counter()
            self._thread = threading.Thread(target=self._supervise, name=f"masklens-train-{self.settings.name}",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> RunState:
        """Stop after the current step (the best epoch so far is still saved); returns the state at the ask.

        Before :meth:`start` this cancels the run: status ``stopped``, nothing trained or saved, and
        :meth:`start` raises. After the run ended it does nothing.
        """
        with self._lock:
            if self._thread is None and not self._state.done:
                self._cancelled = True
                self._state.status = "stopped"
                self._started = self._ended = time.perf_counter()
            elif not self._state.done:
                self._stop_asked = True
                self._state.status = "stopping"
            return self._snapshot()

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the run to end; True when it has ended (or was cancelled)."""
        if self._cancelled:
            return True
        if self._thread is None:
            return False
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        """True from :meth:`start` until the run has ended and its child process has exited."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def pid(self) -> int | None:
        """The child process's id once it was started, else None."""
        return self._process.pid if self._process is not None else None

    def state(self) -> RunState:
        """A consistent copy of the current state (safe to read while training goes on)."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> RunState:
        """Copy of the state; the caller holds the lock."""
        snapshot = copy.deepcopy(self._state)
        end = self._ended or time.perf_counter()
        snapshot.elapsed = (end - self._started) if self._started else 0.0
        snapshot.remaining = None if self._ended else self._remaining(end)
        return snapshot

    def _remaining(self, now: float) -> float | None:
        """Seconds of training left at the mean pace since the first step (None until a pace is known)."""
        if self._first_step is None or self._state.step <= self._first_step[1]:
            return None
        started, first = self._first_step
        per_step = (now - started) / (self._state.step - first)
        return per_step * max(self._state.total_steps - self._state.step, 0)

    def _supervise(self) -> None:
        """The reader thread: start the child, send it the job, fold its messages, always end the state."""
        message = None
        try:
            message = self._talk_to_child()
        except BaseException as err:  # noqa: BLE001 - reported through the state, never lost in the thread
            message = ("error", _describe(err))
        finally:
            try:
                if message is not None:  # report the outcome now, not after the child's exit
                    self._finish(message)
                self._reap_child()
            finally:
                self._finish(message)  # no-op once ended; else the child died and its exit code tells why

    def _talk_to_child(self) -> tuple | None:
        """Start the child and relay its messages; returns its last message (None if it died first)."""
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no torch state is inherited
        conn, child_conn = context.Pipe()
        try:
            process = context.Process(target=_child_main, args=(child_conn,), daemon=True,
                                      name=f"masklens-train-{self.settings.name}")
            with _main_module_not_reimported():
                process.start()
            self._process = process
            child_conn.close()  # else the parent's copy keeps the pipe open and a dead child is never noticed
            return self._relay(conn)
        finally:
            child_conn.close()
            conn.close()  # a child still waiting for an answer gets EOF and exits

    def _relay(self, conn) -> tuple | None:
        """Send the job, then answer every event (go on / stop) until a result or an error comes."""
        try:
            conn.send((self.settings, self.data, str(self.output_dir), self.overwrite, self.threads))
            while True:
                message = conn.recv()
                if message[0] != "event":
                    return message
                go_on = self._on_event(TrainEvent(**message[1]))
                try:
                    conn.send(go_on)
                except OSError:  # the child ended (e.g. interrupted) before our answer: its last word may wait
                    return _last_message(conn)
        except (EOFError, OSError):  # the child died: _finish reports its exit code
            return None

    def _reap_child(self) -> None:
        """Wait for the child to exit (it does right after its last message); kill it if it lingers."""
        process = self._process
        if process is None:
            return
        process.join(CHILD_EXIT_GRACE)
        if process.is_alive():
            process.kill()
            process.join()

    def _on_event(self, event: TrainEvent) -> bool:
        """Fold one step or epoch event into the state; returns whether training should go on."""
        with self._lock:
            state = self._state
            state.step, state.total_steps, state.epoch = event.step, event.total_steps, event.epoch
            if self._first_step is None:
                self._first_step = (time.perf_counter(), event.step)
            if event.kind == "step":
                state.losses.append(float(event.loss))
            else:
                state.history.append({"epoch": event.epoch, "train_loss": float(event.loss),
                                      "dev_accuracy": event.dev_accuracy, "seconds": event.seconds,
                                      "phase": event.phase})
            if not self._stop_asked and self._orphaned():
                self._stop_asked, state.stop_reason = True, "its page was closed"
            if self._stop_asked:
                state.status = "stopping"
            elif event.kind == "epoch" and event.epoch >= state.epochs:
                state.status = "saving"
            else:
                state.status = "training"
            return not self._stop_asked

    def _orphaned(self) -> bool:
        """Whether ``keep_alive`` has said no for ``orphan_grace`` seconds (an error in it counts as yes)."""
        if self.keep_alive is None:
            return False
        try:
            watched = bool(self.keep_alive())
        except Exception:  # noqa: BLE001 - a broken check must not stop or fail a user's training
            watched = True
        now = time.perf_counter()
        if watched:
            self._unwatched_since = None
            return False
        self._unwatched_since = self._unwatched_since or now
        return now - self._unwatched_since >= self.orphan_grace

    def _finish(self, message: tuple | None) -> None:
        """Set the final state from the child's last message: a result, an error, or None (it died).

        Does nothing when the state has already ended.
        """
        result, error = self._outcome(message)
        with self._lock:
            if self._state.done:
                return
            self._ended = time.perf_counter()
            if result is None:
                self._state.status, self._state.error = "failed", error
                return
            self.result = result
            state = self._state
            state.metrics = dict(result.metrics)
            # a stopped epoch sends no epoch event, but the trainer's history has its dev accuracy
            state.history = [{key: record[key] for key in ("epoch", "train_loss", "dev_accuracy", "seconds", "phase")}
                             for record in result.history]
            state.path = str(result.path) if result.path else None
            state.threads = result.threads or state.threads
            state.status = "stopped" if result.stopped_early else "finished"

    def _outcome(self, message: tuple | None) -> tuple[RunResult | None, str | None]:
        """(result, None) for a result message, else (None, ``"Type: message"``)."""
        if message is None:
            exitcode = self._process.exitcode if self._process is not None else None
            return None, f"ChildProcessError: the training process ended without a result ({_exit_message(exitcode)})"
        kind, payload = message
        if kind == "error":
            return None, str(payload)
        try:
            return self._result(payload), None
        except (KeyError, TypeError, ValueError) as err:
            return None, f"{type(err).__name__}: the training process sent a bad result ({err})"

    @staticmethod
    def _result(payload: dict) -> RunResult:
        """The child's plain result as a :class:`RunResult`."""
        return RunResult(payload["metrics"], payload["history"], Path(payload["path"]) if payload["path"] else None,
                         bool(payload["stopped_early"]), payload.get("threads"))
