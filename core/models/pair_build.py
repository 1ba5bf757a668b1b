"""Sentence-pair classifiers built, saved and loaded from their checkpoint configs.

The contract (:class:`~core.models.pair.PairClassifier`, :class:`~core.models.pair.LoadedPairModel`)
lives in :mod:`core.models.pair`; the architectures (:mod:`core.models.dattn`,
:mod:`core.models.minilm_sim`) build on it, and this module builds them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from core.data import pretrained
from core.data.tokenizers import Vocab, WordPieceTokenizer, WordTokenizer
from core.device import pick_device
from core.models.dattn import DecomposableAttention
from core.models.factory import build_encoder, restore_weights, save_model
from core.models.minilm_sim import CosineSimilarityClassifier
from core.models.pair import PAIR_ARCHITECTURES, LoadedPairModel, PairClassifier

def build_pair_classifier(architecture: str, model_config: dict[str, Any], num_classes: int) -> PairClassifier:
    """A freshly initialised pair classifier (frozen pretrained parts loaded) for ``model_config``."""
    if architecture == "dattn":
        table, _ = pretrained.glove_table(model_config["vocab"], seed=int(model_config["embedding_seed"]))
        return DecomposableAttention(table, num_classes, hidden_dim=int(model_config["hidden_dim"]),
                                     dropout=float(model_config["dropout"]))
    if architecture == "minilm-sim":
        return CosineSimilarityClassifier(build_encoder(model_config["encoder"]))
    raise ValueError(f"unknown pair architecture {architecture!r}; choose one of {', '.join(PAIR_ARCHITECTURES)}")


def build_pair_tokenizer(architecture: str, model_config: dict[str, Any]):
    """The tokenizer (applied to each text alone) that ``model_config`` describes."""
    if architecture == "minilm-sim":
        spec = model_config["encoder"]
        directory = pretrained.minilm_dir() if spec == "packaged" else spec.get("tokenizer_dir", pretrained.minilm_dir())
        return WordPieceTokenizer.from_directory(directory, max_len=int(model_config["max_len"]))
    return WordTokenizer(Vocab(model_config["vocab"]), max_len=int(model_config["max_len"]), min_len=1)


def bundle_pair(model: PairClassifier, config: dict[str, Any], name: str = "", path: Path | None = None
                ) -> LoadedPairModel:
    """Wrap a built or trained pair ``model`` with the tokenizer its config describes."""
    return LoadedPairModel(name, model.eval(), build_pair_tokenizer(config["architecture"], config["model_config"]),
                           {**config, "pair": True}, path)


def save_pair_model(loaded: LoadedPairModel, directory: str | Path, half_precision: bool = False) -> Path:
    """Save a pair model as a checkpoint directory (frozen pretrained parts are not stored)."""
    return save_model(replace(loaded, config={**loaded.config, "pair": True}), directory, half_precision)


def load_pair_checkpoint(path: Path, config: dict[str, Any], device: str | None = None) -> LoadedPairModel:
    """Load the pair checkpoint at ``path`` (``config`` already read); see :func:`core.models.load_model`.

    Raises:
        CheckpointError: weights missing, corrupt, not matching the config, or the rebuilt
            pretrained parts differ from those the model was made with.
    """
    model = build_pair_classifier(config["architecture"], config["model_config"], len(config["label_names"]))
    restore_weights(model, config, path)
    return bundle_pair(model.to(pick_device(device if isinstance(device, (str, torch.device)) or device is None
                                            else str(device))), config, name=path.name, path=path)
