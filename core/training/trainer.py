"""One training loop for every method and architecture, used by the CLI and the app.

:func:`train` builds the model for a :class:`TrainSettings`, trains it with
Adam, selects the epoch with the best dev accuracy, measures test accuracy,
computes global word importance for mask methods, and saves a checkpoint. A
``callback`` receives a :class:`TrainEvent` after every step and epoch and can
stop training early by returning ``False`` (the best model so far is kept).

This module is the loop: epochs, the best-epoch checkpoint, evaluation and saving. What a run
is lives in :mod:`core.training.settings`, each method's loss terms and schedules in
:mod:`core.training.objectives`, batching in :mod:`core.training.batches` and the stored word
importance in :mod:`core.training.importance`; per-architecture choices are read from
:mod:`core.models.architectures`.
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from core.data.datasets import DatasetSplits, load_dataset
from core.data.model_data import TEST_SPLIT_FILE, is_bundled, test_split_file
from core.data.text import split_words
from core.data.tokenizers import EncodedBatch
from core.device import pick_device
from core.models.architectures import architecture_spec
from core.models.encoder import encoder_name
from core.models.factory import LoadedModel, build_classifier, bundle, save_model
from core.registry import new_model_directory
from core.training.batches import accuracy, batch_rows, encode_split, min_len
from core.training.importance import global_importance
from core.training.methods import method_spec
from core.training.objectives import (beta_at, ends_warm_up, epoch_phases, phase_scope, set_iba_statistics,
                                      train_step)
from core.training.settings import (DEFAULT_BATCH, DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_VAT_ITERATIONS, TrainSettings,
                                    default_model_name, mask_config, model_config)

__all__ = ["DEFAULT_BATCH", "DEFAULT_EPOCHS", "DEFAULT_LR", "DEFAULT_VAT_ITERATIONS", "TrainEvent", "TrainResult",
           "TrainSettings", "accuracy", "default_model_name", "epoch_phases", "global_importance", "train"]

SPLITS = ("train", "dev", "test")
# The old private names (tests call them); the functions live with their concern now.
_model_config = model_config
_train_step = train_step


@dataclass
class TrainEvent:
    """Progress report passed to the callback.

    ``kind`` is ``"step"`` (``loss`` of the batch) or ``"epoch"`` (``loss`` = mean
    training loss, ``dev_accuracy``, ``seconds`` of the epoch). ``phase`` names
    the schedule's phase: ``"train"``, or for VAT ``"joint"``, ``"compress"``,
    ``"learn"`` (for E-VarM ``loss`` is the VIB stage's loss).
    """

    kind: str
    epoch: int
    step: int
    total_steps: int
    loss: float
    beta: float = 0.0
    dev_accuracy: float | None = None
    seconds: float | None = None
    phase: str = "train"


@dataclass
class TrainResult:
    """A trained model with its metrics and where it was saved (None if not saved)."""

    model: LoadedModel
    metrics: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None
    stopped_early: bool = False
    warmup: dict[str, Any] | None = None  # VAT: its ATT warm-up at the best warm-up epoch (state, epoch, dev_accuracy)


def _optimizer(model: LoadedModel, settings: TrainSettings) -> torch.optim.Optimizer:
    """Adam over the trainable parameters; where the spec sets ``head_learning_rate``, the encoder
    trains at ``lr`` and everything outside it (mask layer, head) at that rate."""
    net = model.model
    head_lr = architecture_spec(settings.architecture, pair=False).head_learning_rate
    if head_lr is None:
        return torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=settings.lr)
    encoder = [p for p in net.encoder.parameters() if p.requires_grad]
    others = [p for name, p in net.named_parameters() if p.requires_grad and encoder_name(name) is None]
    return torch.optim.Adam([{"params": encoder, "lr": settings.lr}, {"params": others, "lr": head_lr}])


def _word_lists(split) -> list[list[str]]:
    """The split's texts, each cut into words."""
    return [split_words(text) for text in split.texts]


def train(settings: TrainSettings, data: DatasetSplits | None = None,
          callback: Callable[[TrainEvent], bool | None] | None = None, save: bool = True,
          output_dir: str | Path | None = None, progress: bool = True, overwrite: bool = False) -> TrainResult:
    """Train a classifier with one of :data:`core.training.methods.METHODS` and save it.

    VAT runs its warm-up and compressor/learner phases epoch by epoch
    (:mod:`core.training.vat`), E-VarM its two stages in every batch
    (:mod:`core.training.evarm`); the callback sees every step and epoch of
    every phase (``TrainEvent.phase``) and the best dev epoch of the whole
    schedule is kept.

    Args:
        settings: the run's settings (see :class:`TrainSettings`).
        data: a dataset to use instead of the bundled ``settings.dataset``
            (e.g. from :func:`core.data.datasets.load_user_csv`).
        callback: called with a :class:`TrainEvent` after every step and epoch;
            returning ``False`` stops training (the best epoch so far is kept).
        save: write a checkpoint into ``output_dir / settings.name``.
        output_dir: default ``$MASKLENS_HOME/models``.
        progress: show a tqdm progress bar.
        overwrite: replace an existing checkpoint of that name (else that is refused before training).

    Returns:
        The trained model (best dev epoch), its metrics and history.

    Raises:
        ValueError: bad settings, or a name the rule of :func:`core.registry.new_model_directory` refuses.
    """
    own_data = data is not None and not is_bundled(data)  # the Train page passes bundled data too
    settings = (replace(settings, dataset=data.name) if data is not None else settings).resolved()
    target = new_model_directory(settings.name, output_dir, overwrite) if save else None
    data = _run_data(settings, data)
    extra_files = {TEST_SPLIT_FILE: test_split_file(data)} if own_data else None  # user data: keep its test split
    torch.manual_seed(settings.seed)
    words = {name: _word_lists(data.split(name)) for name in SPLITS}
    model = _new_model(settings, data, words["train"])
    encoded = {name: encode_split(model, words[name]) for name in words}
    labels = {name: torch.tensor(data.split(name).labels, dtype=torch.long) for name in words}
    set_iba_statistics(model, encoded["train"])
    history, best, stopped = _fit(model, settings, encoded, labels, callback, progress)
    metrics = _keep_best(model, best, history, encoded["test"], labels["test"])
    if method_spec(settings.method).has_global_importance:
        model.config["global_importance"] = global_importance(model, words["train"])
    path = _save(model, settings, target, output_dir, overwrite, extra_files)
    warmup = best.get("warmup")
    return TrainResult(model, metrics, history, path, stopped,
                       {k: warmup[k] for k in ("state", "epoch", "dev_accuracy")} if warmup else None)


def _run_data(settings: TrainSettings, data: DatasetSplits | None) -> DatasetSplits:
    """The run's data: ``data`` or the bundled ``settings.dataset``, cut to the seeded subset sizes."""
    data = data if data is not None else load_dataset(settings.dataset)
    if settings.max_train or settings.max_eval:
        data = data.subset(settings.max_train, settings.max_eval, seed=settings.seed)
    return data


def _new_model(settings: TrainSettings, data: DatasetSplits, train_words: list[list[str]]) -> LoadedModel:
    """The freshly built model of a resolved run, on its device, with the checkpoint config it will be saved with."""
    config = {
        "architecture": settings.architecture, "method": settings.method, "dataset": data.name, "pair": False,
        "label_names": list(data.label_names), "model_config": model_config(settings, data, train_words),
        "mask_config": mask_config(settings), "training": asdict(settings), "data_fingerprint": data.fingerprint,
    }
    net = build_classifier(settings.architecture, config["model_config"], config["mask_config"], len(data.label_names))
    return bundle(net.to(pick_device(settings.device)), config, name=settings.name)


def _keep_best(model: LoadedModel, best: dict[str, Any], history: list[dict[str, Any]], test: EncodedBatch,
               test_labels: torch.Tensor) -> dict[str, float]:
    """Load the best epoch's weights, measure test accuracy and record metrics and history in the config."""
    model.model.load_state_dict(best["state"])
    model.model.eval()
    metrics = {"dev_accuracy": best["dev_accuracy"], "best_epoch": best["epoch"],
               "test_accuracy": accuracy(model, test, test_labels),
               "train_seconds": round(sum(h["seconds"] for h in history), 2),
               "majority_test_accuracy": float(np.bincount(test_labels.numpy()).max() / max(len(test_labels), 1))}
    model.config.update({"metrics": metrics, "history": history})
    return metrics


def _save(model: LoadedModel, settings: TrainSettings, target: Path | None, output_dir: str | Path | None,
          overwrite: bool, extra_files: dict[str, bytes] | None) -> Path | None:
    """Save the trained model under ``target`` (or a free name next to it); None when not saving."""
    if target is None:
        return None
    target = _still_free(target, output_dir, overwrite)
    model.name = target.name
    return save_model(model, target, half_precision=settings.half_precision, extra_files=extra_files)


def _still_free(target: Path, output_dir: str | Path | None, overwrite: bool) -> Path:
    """``target``, or ``<name>-2``, ``-3``... when another run took the name while this one trained
    (the trained model is never thrown away, nor is the other one replaced); warns when it moves."""
    for attempt in range(1, 1000):
        name = target.name if attempt == 1 else f"{target.name}-{attempt}"
        try:
            chosen = new_model_directory(name, output_dir, overwrite and attempt == 1)
        except ValueError:
            continue
        if attempt > 1:
            warnings.warn(f"{target} was created by another run while this one trained; saved as {chosen} instead",
                          RuntimeWarning, stacklevel=4)
        return chosen
    raise ValueError(f"no free checkpoint name near {target}")


def _start_vat_iterations(model: LoadedModel, best: dict[str, Any]) -> dict[str, Any]:
    """VAT after its warm-up: continue from the best warm-up epoch, and select only among the iterations' epochs.

    The iterations start from the ATT model (the paper's iteration 0) at its
    best dev epoch rather than its last; the kept model is the best epoch
    after at least one compressor phase, so a VAT checkpoint is always a
    compressed one (the warm-up's record stays in the history).
    """
    model.model.load_state_dict(best["state"])
    return {"dev_accuracy": -1.0, "epoch": 0, "state": best["state"], "warmup": best}


@dataclass
class _Loop:
    """What every epoch of one run shares: the model, its optimizer, data, schedule and the step count."""

    model: LoadedModel
    settings: TrainSettings
    optimizer: torch.optim.Optimizer
    encoded: dict[str, EncodedBatch]
    labels: dict[str, torch.Tensor]
    phases: list[str]
    total_steps: int
    callback: Callable[[TrainEvent], bool | None] | None
    bar: Any
    step: int = 0


def _fit(model: LoadedModel, settings: TrainSettings, encoded: dict[str, EncodedBatch],
         labels: dict[str, torch.Tensor], callback, progress: bool):
    """The epoch loop; returns (history, best-epoch record with its state, stopped early?)."""
    steps_per_epoch = max(1, -(-len(labels["train"]) // settings.batch_size))
    phases = epoch_phases(settings)
    total_steps = steps_per_epoch * len(phases)
    bar = tqdm(total=total_steps, desc=f"train {settings.name}", disable=not progress, leave=False)
    loop = _Loop(model, settings, _optimizer(model, settings), encoded, labels, phases, total_steps, callback, bar)
    rng = np.random.default_rng(settings.seed)
    best = {"dev_accuracy": -1.0, "epoch": 0, "state": copy.deepcopy(model.model.state_dict())}
    history, stopped = [], False
    for epoch, phase in enumerate(phases, start=1):
        if ends_warm_up(phases, epoch):
            best = _start_vat_iterations(model, best)
        record, stopped = _run_epoch(loop, epoch, phase, rng.permutation(len(labels["train"])))
        history.append(record)
        if record["dev_accuracy"] > best["dev_accuracy"]:
            best = {"dev_accuracy": record["dev_accuracy"], "epoch": epoch,
                    "state": copy.deepcopy(model.model.state_dict()),
                    **({"warmup": best["warmup"]} if "warmup" in best else {})}
        event = TrainEvent("epoch", epoch, loop.step, total_steps, record["train_loss"], record["beta"],
                           record["dev_accuracy"], record["seconds"], phase)
        if stopped or (callback and callback(event) is False):
            stopped = True
            break
    bar.close()
    return history, best, stopped


def _run_epoch(loop: _Loop, epoch: int, phase: str, order: np.ndarray) -> tuple[dict[str, Any], bool]:
    """One epoch of ``phase`` over the training rows in ``order``, then the dev accuracy.

    Returns:
        The epoch's history record, and whether the callback asked to stop.
    """
    model, settings = loop.model, loop.settings
    model.model.train()
    started, losses, extra, stopped = time.perf_counter(), [], [], False
    with phase_scope(model, settings, phase):
        for start in range(0, len(order), settings.batch_size):
            rows = order[start: start + settings.batch_size]
            batch = batch_rows(loop.encoded["train"], rows, min_len(model)).to(model.device)
            beta = beta_at(settings, loop.step, loop.total_steps, epoch)
            result = train_step(model, settings, loop.optimizer, batch, loop.labels["train"][rows].to(model.device),
                                beta, phase)
            loop.step += 1
            losses.append(result["loss"])
            if "contrastive_loss" in result:
                extra.append(result["contrastive_loss"])
            loop.bar.update(1)
            loop.bar.set_postfix(epoch=epoch, loss=f"{losses[-1]:.3f}")
            event = TrainEvent("step", epoch, loop.step, loop.total_steps, losses[-1], beta, phase=phase)
            if loop.callback and loop.callback(event) is False:
                stopped = True
                break
    record = {"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else float("nan"),
              "dev_accuracy": accuracy(model, loop.encoded["dev"], loop.labels["dev"]), "beta": beta,
              "seconds": round(time.perf_counter() - started, 3), "phase": phase}
    if extra:
        record["contrastive_loss"] = float(np.mean(extra))
    return record, stopped
