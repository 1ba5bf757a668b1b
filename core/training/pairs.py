"""Training and calibrating sentence-pair models.

- :func:`train_dattn`: the decomposable attention model on any :class:`PairDataset`
  (bundled derivation or a user pair CSV), Adam, best dev epoch kept, seeded.
- :func:`calibrate_similarity`: the MiniLM cosine classifier's logistic calibration
  (threshold and scale) on a labelled pair set.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.data.pairs import PairDataset, PairSplit
from core.data.text import split_words
from core.data.tokenizers import Vocab
from core.device import pick_device
from core.models.architectures import DATTN
from core.models.pair import LoadedPairModel
from core.models.pair_build import build_pair_classifier, bundle_pair, save_pair_model
from core.registry import new_model_directory


@dataclass
class PairTrainSettings:
    """Settings of a DAttn run (Parikh et al. used Adagrad; Adam with lr 1e-3 converges faster on our small task).

    The defaults are the DAttn architecture spec's (:data:`core.models.architectures.DATTN`).
    """

    name: str = f"{DATTN.name}-pairs"
    epochs: int = DATTN.epochs
    batch_size: int = DATTN.batch_size
    lr: float = DATTN.learning_rate
    hidden_dim: int = DATTN.default_model_config["hidden_dim"]
    dropout: float = DATTN.default_model_config["dropout"]
    max_len: int = DATTN.default_model_config["max_len"]
    clip_norm: float = 5.0
    seed: int = 0
    device: str = "auto"
    half_precision: bool = True

    def check(self) -> None:
        """ValueError naming the first setting that is not positive (epochs, batch size, rate, sizes)."""
        for label in ("epochs", "batch_size", "lr", "hidden_dim", "max_len"):
            if getattr(self, label) <= 0:
                raise ValueError(f"{label} must be positive, got {getattr(self, label)}")


def _words(split: PairSplit) -> list[tuple[list[str], list[str]]]:
    return [(split_words(a), split_words(b)) for a, b in zip(split.texts_a, split.texts_b)]


def _dattn_config(settings: PairTrainSettings, vocab: Vocab) -> dict[str, Any]:
    """The DAttn model config of a run: the spec's defaults with the run's sizes and vocabulary."""
    return {"vocab": vocab.words, "max_len": settings.max_len, "hidden_dim": settings.hidden_dim,
            "dropout": settings.dropout, "embedding_seed": DATTN.default_model_config["embedding_seed"]}


def pair_accuracy(model: LoadedPairModel, pairs: list[tuple[list[str], list[str]]], labels: Any) -> float:
    """Share of pairs whose predicted class equals ``labels`` (in [0, 1])."""
    if not pairs:
        return float("nan")
    predicted = model.predict_words(pairs).argmax(1)
    return float((predicted == np.asarray(labels)).mean())


def train_dattn(data: PairDataset, settings: PairTrainSettings = PairTrainSettings(), save: bool = True,
                output_dir: str | Path | None = None, overwrite: bool = False
                ) -> tuple[LoadedPairModel, dict[str, Any]]:
    """Train a decomposable attention model on ``data`` and (optionally) save it.

    The vocabulary is every word of the training pairs; embeddings are frozen GloVe-50d
    (words outside GloVe get a seeded uniform vector, as for the CNN/LSTM).

    Returns:
        (the model at its best dev epoch, metrics: dev/test/majority accuracy, best epoch, seconds).

    ``overwrite`` replaces an existing checkpoint of that name; without it the name rule of
    :func:`core.registry.new_model_directory` refuses one before training starts.

    Raises:
        ValueError: a non-positive epoch count, batch size, learning rate or size; a refused name.
    """
    settings.check()
    target = new_model_directory(settings.name, output_dir, overwrite) if save else None
    torch.manual_seed(settings.seed)
    device = pick_device(settings.device)
    words = {name: _words(data.split(name)) for name in ("train", "dev", "test")}
    vocab = Vocab.build([pair[0] + pair[1] for pair in words["train"]])
    config = {"architecture": DATTN.name, "method": "base", "dataset": data.name, "pair": True,
              "label_names": list(data.label_names), "model_config": _dattn_config(settings, vocab),
              "mask_config": {"kind": "none"}, "training": asdict(settings), "data_fingerprint": data.fingerprint}
    net = build_pair_classifier(DATTN.name, config["model_config"], len(data.label_names)).to(device)
    model = bundle_pair(net, config, name=settings.name)
    labels = torch.tensor(data.train.labels, dtype=torch.long)
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=settings.lr)
    rng = np.random.default_rng(settings.seed)
    best = {"dev_accuracy": -1.0, "epoch": 0, "state": None}
    history = []
    for epoch in range(1, settings.epochs + 1):
        started, losses = time.perf_counter(), []
        net.train()
        order = rng.permutation(len(labels))
        for start in range(0, len(order), settings.batch_size):
            rows = order[start: start + settings.batch_size]
            a, b = model.encode_words([words["train"][i][0] for i in rows], [words["train"][i][1] for i in rows])
            loss = torch.nn.functional.cross_entropy(net.forward_pair(a, b), labels[rows].to(device))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), settings.clip_norm)
            optimizer.step()
            losses.append(loss.item())
        net.eval()
        dev = pair_accuracy(model, words["dev"], data.dev.labels)
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "dev_accuracy": dev,
                        "seconds": round(time.perf_counter() - started, 3)})
        if dev > best["dev_accuracy"]:
            best = {"dev_accuracy": dev, "epoch": epoch, "state": copy.deepcopy(net.state_dict())}
    net.load_state_dict(best["state"])
    net.eval()
    test_labels = np.asarray(data.test.labels)
    metrics = {"dev_accuracy": best["dev_accuracy"], "best_epoch": best["epoch"],
               "test_accuracy": pair_accuracy(model, words["test"], test_labels),
               "majority_test_accuracy": float(np.bincount(test_labels).max() / max(len(test_labels), 1)),
               "train_seconds": round(sum(h["seconds"] for h in history), 2)}
    model.config.update({"metrics": metrics, "history": history})
    if target is not None:
        save_pair_model(model, target, half_precision=settings.half_precision)
    return model, metrics


@torch.no_grad()
def pair_cosines(model: LoadedPairModel, split: PairSplit, batch_size: int = 128) -> np.ndarray:
    """[N] cosine of the two sentence vectors of every pair of ``split`` (MiniLM similarity model)."""
    out = []
    words = _words(split)
    for start in range(0, len(words), batch_size):
        part = words[start: start + batch_size]
        a, b = model.encode_words([p[0] for p in part], [p[1] for p in part])
        net = model.model
        out.append(net.cosine(net.embed(a.input_ids), a.attention_mask, net.embed(b.input_ids),
                              b.attention_mask).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def calibrate_similarity(model: LoadedPairModel, data: PairDataset, similar_label: int = 1) -> dict[str, Any]:
    """Fit p(similar) = sigmoid(scale * (cos - threshold)) on ``data.train`` by logistic regression.

    Sets the model's ``threshold`` and ``scale`` and returns them with train/dev/test accuracies
    (cos > threshold means similar) and the majority-class test accuracy.
    """
    from sklearn.linear_model import LogisticRegression

    cos = {name: pair_cosines(model, data.split(name)) for name in ("train", "dev", "test")}
    target = {name: (np.asarray(data.split(name).labels) == similar_label).astype(int) for name in cos}
    fit = LogisticRegression(C=1e4).fit(cos["train"][:, None], target["train"])
    scale = float(fit.coef_[0, 0])
    threshold = float(-fit.intercept_[0] / scale)
    model.model.scale.fill_(scale)
    model.model.threshold.fill_(threshold)
    result = {"threshold": threshold, "scale": scale, "calibration_set": data.name,
              "majority_test_accuracy": float(max(target["test"].mean(), 1 - target["test"].mean()))}
    for name in cos:
        result[f"{name}_accuracy"] = float(((cos[name] > threshold).astype(int) == target[name]).mean())
    return result
