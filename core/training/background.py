"""Training in a background thread, with live progress, for the Train page (no Streamlit here).

::

    run = TrainingRun(TrainSettings(dataset="trec6", method="vmask", epochs=2)).start()
    while not run.join(timeout=1.0):
        state = run.state()          # progress, per-step losses, per-epoch dev accuracy
        print(state.step, state.total_steps, state.losses[-1:] )
    run.state().metrics, run.state().path

:func:`check_run` validates everything that can be checked before training
(settings, dataset, classes, model name, device), so bad settings fail at once
with a clear ``ValueError`` instead of inside the thread. :meth:`TrainingRun.stop`
makes the training callback return ``False``: :func:`core.training.train` then
keeps the best epoch so far and still saves it.
"""

from __future__ import annotations

import copy
import re
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from core import paths
from core.data.datasets import DatasetSplits, load_dataset
from core.device import pick_device
from core.training.trainer import TrainEvent, TrainResult, TrainSettings, epoch_phases, train

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_model_name(name: str) -> None:
    """Raise ValueError unless ``name`` can name a new user checkpoint directory.

    Allowed: 1-100 letters, digits, ``.``, ``_``, ``-``, starting with a letter or
    digit, and not the name of a shipped model (a user model of that name would be
    hidden by it). An existing user model of that name is replaced.
    """
    from core.registry import list_models

    if not NAME_PATTERN.fullmatch(name or ""):
        raise ValueError(f"model name {name!r} is not allowed: use 1-100 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    if name in {record.name for record in list_models(include_user=False)}:
        raise ValueError(f"{name!r} is the name of a shipped model; choose another name")


def user_model_exists(name: str, output_dir: str | Path | None = None) -> bool:
    """True when a user checkpoint called ``name`` already exists (training would replace it)."""
    return (Path(output_dir or paths.user_models_dir()) / name / "config.json").exists()


def check_run(settings: TrainSettings, data: DatasetSplits | None = None) -> tuple[TrainSettings, DatasetSplits]:
    """Validate a run before it starts; returns the resolved settings and the dataset (before subsetting).

    Checks: epochs >= 1 and the other counts and rates (:meth:`TrainSettings.resolved`), the bundled
    dataset loads (or ``data`` is given), the training split (after ``max_train``) is not empty and has
    at least two classes, dev and test are not empty, the model name is allowed and the device exists.

    Raises:
        ValueError: with a message that says what to change.
    """
    if settings.epochs is not None and settings.epochs < 1:  # resolved() says "positive"; a count reads better
        raise ValueError(f"epochs must be at least 1, got {settings.epochs}")
    if data is not None:
        settings = replace(settings, dataset=data.name)
    resolved = settings.resolved()
    check_model_name(resolved.name)
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


@dataclass
class RunState:
    """A snapshot of a background run.

    Attributes:
        name: the checkpoint name.
        status: ``preparing`` (building the model, encoding the data), ``training``, ``stopping``
            (stop asked, finishing the epoch), ``saving`` (test accuracy, importance, checkpoint),
            then ``finished``, ``stopped`` (stopped early; the best epoch so far was saved) or ``failed``.
        step, total_steps: optimizer steps done and planned.
        epoch, epochs: current epoch (1-based) and planned epochs (for VAT including its phases).
        losses: training loss of every step so far.
        history: per finished epoch: ``epoch``, ``train_loss``, ``dev_accuracy``, ``seconds``, ``phase``
            (``train``; VAT: ``joint``, ``compress``, ``learn``).
        metrics: final metrics (dev/test accuracy, ...) once done, else None.
        path: checkpoint directory once saved.
        error: ``"Type: message"`` when failed.
        elapsed: seconds since the start.
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

    @property
    def done(self) -> bool:
        """True once the run has finished, stopped or failed."""
        return self.status in ("finished", "stopped", "failed")

    @property
    def fraction(self) -> float:
        """Share of the planned steps done, in [0, 1]."""
        return min(self.step / self.total_steps, 1.0) if self.total_steps else 0.0


class TrainingRun:
    """One :func:`core.training.train` call in a daemon thread, observable and stoppable.

    Args:
        settings: the run's settings (validated at once with :func:`check_run`).
        data: a dataset instead of the bundled ``settings.dataset`` (e.g. an uploaded CSV).
        output_dir: where the checkpoint goes (default ``$MASKLENS_HOME/models``).

    Raises:
        ValueError: bad settings or data (see :func:`check_run`), before any thread starts.
    """

    def __init__(self, settings: TrainSettings, data: DatasetSplits | None = None,
                 output_dir: str | Path | None = None):
        self.settings, self.data = check_run(settings, data)
        self.output_dir = Path(output_dir) if output_dir else paths.user_models_dir()
        n_train = len(self.data.subset(self.settings.max_train, None, self.settings.seed).train
                      if self.settings.max_train else self.data.train)
        epochs = len(epoch_phases(self.settings))  # VAT adds compressor/learner phases to its warm-up
        steps = -(-n_train // self.settings.batch_size) * epochs
        self._state = RunState(self.settings.name, "preparing", 0, steps, 0, epochs)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self.result: TrainResult | None = None

    def start(self) -> "TrainingRun":
        """Start the thread (once); returns ``self``."""
        if self._thread is not None:
            raise RuntimeError("this run was already started")
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name=f"masklens-train-{self.settings.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to stop after the current step (the best epoch so far is still saved)."""
        self._stop.set()
        with self._lock:
            if not self._state.done:
                self._state.status = "stopping"

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the run to end; True when it has ended."""
        if self._thread is None:
            return False
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def state(self) -> RunState:
        """A consistent copy of the current state (safe to read while training goes on)."""
        with self._lock:
            snapshot = copy.deepcopy(self._state)
        snapshot.elapsed = (time.perf_counter() - self._started) if self._started else 0.0
        return snapshot

    def _on_event(self, event: TrainEvent) -> bool:
        with self._lock:
            state = self._state
            state.step, state.total_steps, state.epoch = event.step, event.total_steps, event.epoch
            if event.kind == "step":
                state.losses.append(float(event.loss))
            else:
                state.history.append({"epoch": event.epoch, "train_loss": float(event.loss),
                                      "dev_accuracy": event.dev_accuracy, "seconds": event.seconds,
                                      "phase": event.phase})
            if self._stop.is_set():
                state.status = "stopping"
            elif event.kind == "epoch" and event.epoch >= state.epochs:
                state.status = "saving"
            else:
                state.status = "training"
        return not self._stop.is_set()

    def _run(self) -> None:
        try:
            result = train(self.settings, data=self.data, callback=self._on_event, output_dir=self.output_dir,
                           progress=False)
        except Exception as err:  # noqa: BLE001 - reported through the state, never lost in the thread
            with self._lock:
                self._state.status, self._state.error = "failed", f"{type(err).__name__}: {err}"
            return
        self.result = result
        with self._lock:
            self._state.metrics = dict(result.metrics)
            # a stopped epoch sends no epoch event, but the trainer's history has its dev accuracy
            self._state.history = [{"epoch": record["epoch"], "train_loss": record["train_loss"],
                                    "dev_accuracy": record["dev_accuracy"], "seconds": record["seconds"],
                                    "phase": record["phase"]} for record in result.history]
            self._state.path = str(result.path) if result.path else None
            self._state.status = "stopped" if result.stopped_early else "finished"
