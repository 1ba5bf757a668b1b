"""One training loop for every method and architecture, used by the CLI and the app.

:func:`train` builds the model for a :class:`TrainSettings`, trains it with
Adam, selects the epoch with the best dev accuracy, measures test accuracy,
computes global word importance for mask methods, and saves a checkpoint. A
``callback`` receives a :class:`TrainEvent` after every step and epoch and can
stop training early by returning ``False`` (the best model so far is kept).
"""

from __future__ import annotations

import copy
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from core.data.datasets import DatasetSplits, load_dataset
from core.data.model_data import TEST_SPLIT_FILE, is_bundled, test_split_file
from core.data.text import split_words
from core.data.tokenizers import EncodedBatch, Vocab
from core.device import pick_device
from core.models.factory import LoadedModel, build_classifier, bundle, default_model_config, save_model
from core.models.masks import InformationBottleneckMask
from core.registry import new_model_directory
from core.training import evarm as evarm_training
from core.training import vat as vat_training
from core.training.freezing import optimizer_step, trainable_only
from core.training.methods import BETA_SCHEDULES, annealed_beta, check_architecture, method_spec, step_beta

DEFAULT_LR = {"cnn": 1e-3, "lstm": 1e-3, "minilm": 3e-5}
DEFAULT_BATCH = {"cnn": 50, "lstm": 50, "minilm": 32}
DEFAULT_EPOCHS = {"cnn": 10, "lstm": 10, "minilm": 3}
DEFAULT_VAT_ITERATIONS = {"lstm": 1, "minilm": 2}  # the best iteration counts of the VAT paper's Table 6


@dataclass
class TrainSettings:
    """Everything that defines a training run (stored in the checkpoint).

    Attributes:
        dataset: bundled dataset name (ignored when :func:`train` gets ``data``).
        architecture: ``cnn``, ``lstm`` or ``minilm``.
        method: one of :data:`core.training.methods.METHODS` (``att``/``vat``: lstm or
            minilm; ``evarm``/``evarm_mask``: minilm).
        epochs: passes over the training set (None: 10 for cnn/lstm, 3 for minilm);
            for ``vat`` the attention warm-up before the iterations.
        batch_size, lr: Adam settings (None: per-architecture defaults; for
            minilm the mask layer and head use lr 1e-3, the encoder ``lr``).
        beta_start, beta_end: VMASK's annealed weight of -H(q(R|x)): first value and floor.
        beta_schedule: ``step`` (default, the VMASK authors' released scripts: ``beta_start``
            minus ``beta_decrement`` after every ``beta_every`` epochs, floor ``beta_end``;
            :func:`core.training.methods.step_beta`) or ``geometric`` (log-linear from
            ``beta_start`` to ``beta_end`` over all steps; :func:`~core.training.methods.annealed_beta`).
        beta_decrement, beta_every: the ``step`` schedule's decrement and its period in epochs.
        iba_beta: IBA's weight of its KL bound.
        l2_weight: weight of ||theta||^2 for the l2 method.
        tau: Gumbel-softmax temperature (VMASK, L2X).
        mask_hidden: hidden size of the mask inference network (None: 100 for
            word models, the encoder width for minilm).
        l2x_k: words L2X selects.
        vib_beta: beta of eq. 8 in VAT (KL weight) and E-VarM (weight of -H(q(r|x))).
        vat_iterations: VAT compressor/learner rounds (None: 1 for lstm, 2 for minilm).
        vat_phase_epochs: epochs of each VAT compressor and learner phase.
        supcon_tau: E-VarM contrastive temperature (eq. 10).
        minilm_trainable_layers: fine-tune only the top n MiniLM layers (None: all);
            the frozen lower layers are not stored in the checkpoint.
        clip_norm: gradient-norm clip.
        max_train, max_eval: optional subset sizes (seeded) for quick runs.
        seed: seeds initialisation, sampling and shuffling.
        device: ``auto``, ``cpu`` or ``cuda``.
        name: checkpoint name (default ``{architecture}-{method}-{dataset}``).
        half_precision: store float16 weights.
    """

    dataset: str = "movie-snippets"
    architecture: str = "cnn"
    method: str = "base"
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    beta_start: float = 1.0
    beta_end: float = 0.01
    beta_schedule: str = "step"
    beta_decrement: float = 0.099
    beta_every: int = 10
    iba_beta: float = 1e-3
    l2_weight: float = 1e-4
    tau: float = 0.5
    mask_hidden: int | None = None
    l2x_k: int = 10
    vib_beta: float = 0.1
    vat_iterations: int | None = None
    vat_phase_epochs: int = 1
    supcon_tau: float = 0.5
    minilm_trainable_layers: int | None = None
    clip_norm: float = 5.0
    max_train: int | None = None
    max_eval: int | None = None
    seed: int = 0
    device: str = "auto"
    name: str | None = None
    half_precision: bool = False

    def resolved(self) -> "TrainSettings":
        """A copy with every ``None`` default filled in and the values checked.

        Raises:
            ValueError: an unknown architecture/method or a non-positive count or rate.
        """
        default_model_config(self.architecture)
        check_architecture(self.method, self.architecture)
        settings = copy.copy(self)
        if self.method == "vat" and self.vat_iterations is None:
            settings.vat_iterations = DEFAULT_VAT_ITERATIONS[self.architecture]
        settings.epochs = self.epochs if self.epochs is not None else DEFAULT_EPOCHS[self.architecture]
        settings.batch_size = self.batch_size if self.batch_size is not None else DEFAULT_BATCH[self.architecture]
        settings.lr = self.lr if self.lr is not None else DEFAULT_LR[self.architecture]
        if self.mask_hidden is None:
            settings.mask_hidden = 100 if self.architecture != "minilm" else 384
        settings.name = self.name if self.name is not None else default_model_name(self.architecture, self.method,
                                                                                  self.dataset)
        if settings.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {settings.batch_size}")
        for label, value in [("epochs", settings.epochs), ("lr", settings.lr), ("mask_hidden", settings.mask_hidden),
                             ("tau", settings.tau), ("l2x_k", settings.l2x_k), ("vib_beta", settings.vib_beta),
                             ("vat_phase_epochs", settings.vat_phase_epochs), ("supcon_tau", settings.supcon_tau)]:
            if value <= 0:
                raise ValueError(f"{label} must be positive, got {value}")
        if (settings.vat_iterations or 0) < 0:
            raise ValueError(f"vat_iterations must be 0 or more, got {settings.vat_iterations}")
        layers = self.minilm_trainable_layers
        if layers is not None and (self.architecture != "minilm" or not 1 <= layers <= 6):
            raise ValueError("minilm_trainable_layers needs architecture minilm and a value in 1..6")
        if not 0 < self.beta_end <= self.beta_start:
            raise ValueError("need 0 < beta_end <= beta_start")
        if self.beta_schedule not in BETA_SCHEDULES:
            raise ValueError(f"unknown beta_schedule {self.beta_schedule!r}; choose one of {', '.join(BETA_SCHEDULES)}")
        if self.beta_decrement < 0 or self.beta_every < 1:
            raise ValueError("need beta_decrement >= 0 and beta_every >= 1")
        return settings


def default_model_name(architecture: str, method: str, dataset: str) -> str:
    """``{architecture}-{method}-{dataset}``, with ``-user`` appended when a shipped model has that name
    (a user model of a shipped name would be hidden by it; the README's own commands hit this)."""
    from core.registry import shipped_model_names

    name = f"{architecture}-{method}-{dataset}"
    return f"{name}-user" if name in shipped_model_names() else name


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


def _mask_config(settings: TrainSettings) -> dict[str, Any]:
    kind = method_spec(settings.method).mask_kind
    config: dict[str, Any] = {"kind": kind}
    if kind != "none":
        config["hidden_dim"] = settings.mask_hidden
    if kind in ("vmask", "l2x", "evarm"):
        config["tau"] = settings.tau
    if kind == "l2x":
        config["k"] = settings.l2x_k
    return config


def _model_config(settings: TrainSettings, data: DatasetSplits, train_words: list[list[str]]) -> dict[str, Any]:
    config = default_model_config(settings.architecture)
    if settings.architecture != "minilm":
        config["vocab"] = Vocab.build(train_words, min_freq=data.min_freq).words
        config["max_len"] = data.max_len
        config["embedding_seed"] = settings.seed
    elif settings.minilm_trainable_layers is not None:
        config["trainable_layers"] = settings.minilm_trainable_layers
    if method_spec(settings.method).pooling:
        config["pooling"] = method_spec(settings.method).pooling
    if settings.method == "vat":
        config["compressor"] = {}
    return config


def _encode_split(model: LoadedModel, word_lists: list[list[str]], chunk: int = 2048) -> EncodedBatch:
    """Encode a whole split once, padded to its longest row (batches are trimmed later)."""
    parts = [model.tokenizer.encode_words(word_lists[i: i + chunk]) for i in range(0, len(word_lists), chunk)]
    width = max(p.input_ids.shape[1] for p in parts)

    def cat(name: str, fill: int) -> torch.Tensor:
        return torch.cat([F.pad(getattr(p, name), (0, width - p.input_ids.shape[1]), value=fill) for p in parts])

    return EncodedBatch(cat("input_ids", model.tokenizer.pad_id), cat("attention_mask", False), cat("word_ids", -1),
                        [w for p in parts for w in p.words], [t for p in parts for t in p.truncated])


def _batch(encoded: EncodedBatch, rows: np.ndarray | slice, min_len: int) -> EncodedBatch:
    """Rows of an encoded split, trimmed to their longest real length."""
    attention = encoded.attention_mask[rows]
    width = max(int(attention.sum(1).max()) if len(attention) else 0, min_len)
    return EncodedBatch(encoded.input_ids[rows, :width], attention[:, :width], encoded.word_ids[rows, :width], [], [])


def _min_len(model: LoadedModel) -> int:
    return getattr(model.tokenizer, "min_len", 1)


@torch.no_grad()
def accuracy(model: LoadedModel, encoded: EncodedBatch, labels: torch.Tensor, batch_size: int = 256) -> float:
    """Share of rows of ``encoded`` whose argmax prediction equals ``labels`` [N]."""
    model.model.eval()
    correct = 0
    for start in range(0, len(labels), batch_size):
        batch = _batch(encoded, slice(start, start + batch_size), _min_len(model)).to(model.device)
        logits = model.model(batch.input_ids, batch.attention_mask, batch.token_mask).logits
        correct += int((logits.argmax(-1).cpu() == labels[start: start + batch_size]).sum())
    return correct / max(len(labels), 1)


def _optimizer(model: LoadedModel, settings: TrainSettings) -> torch.optim.Optimizer:
    net = model.model
    if settings.architecture != "minilm":
        return torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=settings.lr)
    encoder = [p for p in net.encoder.parameters() if p.requires_grad]
    others = [p for name, p in net.named_parameters() if p.requires_grad and not name.startswith("encoder.")]
    return torch.optim.Adam([{"params": encoder, "lr": settings.lr}, {"params": others, "lr": 1e-3}])


@torch.no_grad()
def _set_iba_statistics(model: LoadedModel, encoded: EncodedBatch) -> None:
    """Per-dimension mean and std of the training set's word embeddings (IBA's q(z))."""
    mask = model.model.mask
    if not isinstance(mask, InformationBottleneckMask):
        return
    total, total_sq, count = 0.0, 0.0, 0
    for start in range(0, len(encoded.input_ids), 512):
        batch = _batch(encoded, slice(start, start + 512), 1).to(model.device)
        emb = model.model.embed(batch.input_ids)[batch.token_mask]
        total, total_sq, count = total + emb.sum(0), total_sq + (emb ** 2).sum(0), count + emb.shape[0]
    mean = total / max(count, 1)
    mask.set_feature_statistics(mean, (total_sq / max(count, 1) - mean ** 2).clamp(min=0).sqrt())


def _loss(model: LoadedModel, settings: TrainSettings, batch: EncodedBatch, labels: torch.Tensor,
          beta: float, phase: str = "train") -> torch.Tensor:
    if settings.method == "vat":
        return vat_training.phase_loss(model.model, batch, labels, phase, settings.vib_beta)
    out = model.model(batch.input_ids, batch.attention_mask, batch.token_mask)
    loss = F.cross_entropy(out.logits, labels)
    if settings.method == "vmask":
        loss = loss + beta * out.mask.regularizer
    elif settings.method == "iba":
        loss = loss + settings.iba_beta * out.mask.regularizer
    elif settings.method == "l2":
        loss = loss + settings.l2_weight * sum((p ** 2).sum() for p in model.model.parameters() if p.requires_grad)
    return loss


def _word_lists(split) -> list[list[str]]:
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
    if data is not None:
        settings = replace(settings, dataset=data.name)
    settings = settings.resolved()
    target = new_model_directory(settings.name, output_dir, overwrite) if save else None
    data = data if data is not None else load_dataset(settings.dataset)
    if settings.max_train or settings.max_eval:
        data = data.subset(settings.max_train, settings.max_eval, seed=settings.seed)
    extra_files = {TEST_SPLIT_FILE: test_split_file(data)} if own_data else None  # user data: keep its test split
    device = pick_device(settings.device)
    torch.manual_seed(settings.seed)
    words = {name: _word_lists(data.split(name)) for name in ("train", "dev", "test")}
    config = {
        "architecture": settings.architecture, "method": settings.method, "dataset": data.name, "pair": False,
        "label_names": list(data.label_names), "model_config": _model_config(settings, data, words["train"]),
        "mask_config": _mask_config(settings), "training": asdict(settings), "data_fingerprint": data.fingerprint,
    }
    net = build_classifier(settings.architecture, config["model_config"], config["mask_config"], len(data.label_names))
    model = bundle(net.to(device), config, name=settings.name)
    encoded = {name: _encode_split(model, words[name]) for name in words}
    labels = {name: torch.tensor(data.split(name).labels, dtype=torch.long) for name in words}
    _set_iba_statistics(model, encoded["train"])
    history, best, stopped = _fit(model, settings, encoded, labels, callback, progress)
    warmup = best.get("warmup")
    model.model.load_state_dict(best["state"])
    model.model.eval()
    metrics = {"dev_accuracy": best["dev_accuracy"], "best_epoch": best["epoch"],
               "test_accuracy": accuracy(model, encoded["test"], labels["test"]),
               "train_seconds": round(sum(h["seconds"] for h in history), 2),
               "majority_test_accuracy": float(np.bincount(labels["test"].numpy()).max() / max(len(labels["test"]), 1))}
    model.config.update({"metrics": metrics, "history": history})
    if method_spec(settings.method).has_global_importance:
        model.config["global_importance"] = global_importance(model, words["train"])
    if target is not None:
        target = _still_free(target, output_dir, overwrite)
        model.name = target.name
    path = (save_model(model, target, half_precision=settings.half_precision, extra_files=extra_files)
            if target is not None else None)
    return TrainResult(model, metrics, history, path, stopped,
                       {k: warmup[k] for k in ("state", "epoch", "dev_accuracy")} if warmup else None)


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
                          RuntimeWarning, stacklevel=3)
        return chosen
    raise ValueError(f"no free checkpoint name near {target}")


def epoch_phases(settings: TrainSettings) -> list[str]:
    """The phase of each epoch: ``"train"`` for one-stage methods; VAT's schedule (:func:`vat.phase_plan`)."""
    if settings.method == "vat":
        return vat_training.phase_plan(settings.epochs, settings.vat_iterations, settings.vat_phase_epochs)
    return ["train"] * settings.epochs


def _train_step(model: LoadedModel, settings: TrainSettings, optimizer: torch.optim.Optimizer, batch: EncodedBatch,
                labels: torch.Tensor, beta: float, phase: str) -> dict[str, float]:
    """One optimisation step (two for E-VarM); returns ``{"loss": ...}`` (E-VarM adds ``contrastive_loss``)."""
    if settings.method in ("evarm", "evarm_mask"):
        return evarm_training.evarm_step(model.model, optimizer, batch, labels, settings.vib_beta, settings.supcon_tau,
                                         settings.clip_norm, contrastive=settings.method == "evarm")
    return {"loss": optimizer_step(model.model, optimizer, _loss(model, settings, batch, labels, beta, phase),
                                   settings.clip_norm)}


def _phase_scope(model: LoadedModel, settings: TrainSettings, phase: str):
    """Freezes what ``phase`` must not change (VAT: encoder+head while compressing, attention while learning)."""
    prefixes = (vat_training.trainable_prefixes(phase, settings.architecture) if settings.method == "vat" else None)
    return trainable_only(model.model, prefixes)


def _beta(settings: TrainSettings, step: int, total_steps: int, epoch: int) -> float:
    if settings.method in ("vat", "evarm", "evarm_mask"):
        return settings.vib_beta
    if settings.beta_schedule == "geometric":
        return annealed_beta(step, total_steps, settings.beta_start, settings.beta_end)
    return step_beta(epoch, settings.beta_start, settings.beta_end, settings.beta_decrement, settings.beta_every)


def _start_vat_iterations(model: LoadedModel, best: dict[str, Any]) -> dict[str, Any]:
    """VAT after its warm-up: continue from the best warm-up epoch, and select only among the iterations' epochs.

    The iterations start from the ATT model (the paper's iteration 0) at its
    best dev epoch rather than its last; the kept model is the best epoch
    after at least one compressor phase, so a VAT checkpoint is always a
    compressed one (the warm-up's record stays in the history).
    """
    model.model.load_state_dict(best["state"])
    return {"dev_accuracy": -1.0, "epoch": 0, "state": best["state"], "warmup": best}


def _fit(model: LoadedModel, settings: TrainSettings, encoded: dict[str, EncodedBatch],
         labels: dict[str, torch.Tensor], callback, progress: bool):
    """The epoch loop; returns (history, best-epoch record with its state, stopped early?)."""
    optimizer = _optimizer(model, settings)
    rng = np.random.default_rng(settings.seed)
    n_train = len(labels["train"])
    steps_per_epoch = max(1, -(-n_train // settings.batch_size))
    phases = epoch_phases(settings)
    total_steps = steps_per_epoch * len(phases)
    best = {"dev_accuracy": -1.0, "epoch": 0, "state": copy.deepcopy(model.model.state_dict())}
    history, step, stopped = [], 0, False
    bar = tqdm(total=total_steps, desc=f"train {settings.name}", disable=not progress, leave=False)
    for epoch, phase in enumerate(phases, start=1):
        if phase != "joint" and epoch > 1 and phases[epoch - 2] == "joint":
            best = _start_vat_iterations(model, best)
        model.model.train()
        started, losses, extra = time.perf_counter(), [], []
        order = rng.permutation(n_train)
        with _phase_scope(model, settings, phase):
            for start in range(0, n_train, settings.batch_size):
                rows = order[start: start + settings.batch_size]
                batch = _batch(encoded["train"], rows, _min_len(model)).to(model.device)
                beta = _beta(settings, step, total_steps, epoch)
                result = _train_step(model, settings, optimizer, batch, labels["train"][rows].to(model.device), beta,
                                     phase)
                step += 1
                losses.append(result["loss"])
                if "contrastive_loss" in result:
                    extra.append(result["contrastive_loss"])
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{losses[-1]:.3f}")
                event = TrainEvent("step", epoch, step, total_steps, losses[-1], beta, phase=phase)
                if callback and callback(event) is False:
                    stopped = True
                    break
        dev_acc = accuracy(model, encoded["dev"], labels["dev"])
        record = {"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else float("nan"),
                  "dev_accuracy": dev_acc, "beta": beta, "seconds": round(time.perf_counter() - started, 3),
                  "phase": phase}
        if extra:
            record["contrastive_loss"] = float(np.mean(extra))
        history.append(record)
        if dev_acc > best["dev_accuracy"]:
            best = {"dev_accuracy": dev_acc, "epoch": epoch, "state": copy.deepcopy(model.model.state_dict()),
                    **({"warmup": best["warmup"]} if "warmup" in best else {})}
        event = TrainEvent("epoch", epoch, step, total_steps, record["train_loss"], beta, dev_acc, record["seconds"],
                           phase)
        if stopped or (callback and callback(event) is False):
            stopped = True
            break
    bar.close()
    return history, best, stopped


@torch.no_grad()
def global_importance(model: LoadedModel, train_words: list[list[str]], batch_size: int = 256) -> dict[str, list]:
    """Global word importance of a mask model: E[q(R|x)] (or IBA's lambda, L2X's score, E-VarM's gate alpha).

    For word models the mask depends only on the word's (frozen) embedding,
    so the score is computed once per vocabulary word. For wordpiece models
    it is the mean, over the training occurrences of a word, of the mean over
    its pieces (for E-VarM each occurrence's gate reads its own sentence).
    ``counts`` is the word's training-set frequency.

    Returns:
        ``{"words": [...], "scores": [...], "counts": [...]}``, sorted by score, highest first.
    """
    counts = Counter(word for words in train_words for word in words)
    net = model.model.eval()
    if model.config["architecture"] != "minilm":
        vocab = model.config["model_config"]["vocab"]
        ids = torch.arange(2, len(vocab), device=model.device)
        scores = net.mask.token_importance(net.embed(ids)).cpu().tolist()
        table = {vocab[i]: s for i, s in zip(ids.tolist(), scores)}
    else:
        table = _wordpiece_importance(model, train_words, batch_size)
    ordered = sorted(table, key=lambda w: (-table[w], w))
    return {"words": ordered, "scores": [round(float(table[w]), 6) for w in ordered],
            "counts": [counts.get(w, 0) for w in ordered]}


def _wordpiece_importance(model: LoadedModel, train_words: list[list[str]], batch_size: int) -> dict[str, float]:
    sums: Counter = Counter()
    seen: Counter = Counter()
    net = model.model
    for start in range(0, len(train_words), batch_size):
        batch = model.tokenizer.encode_words(train_words[start: start + batch_size]).to(model.device)
        piece_scores = net.token_importance(batch.input_ids, batch.attention_mask, batch.token_mask).cpu()
        word_ids = batch.word_ids.cpu()
        for row, words in enumerate(batch.words):
            for index, word in enumerate(words):
                sums[word] += float(piece_scores[row][word_ids[row] == index].mean())
                seen[word] += 1
    return {word: sums[word] / seen[word] for word in sums}
