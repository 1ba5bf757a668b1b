"""Sentence-pair classifiers built, saved and loaded from their checkpoint configs.

The contract (:class:`~core.models.pair.PairClassifier`, :class:`~core.models.pair.LoadedPairModel`)
lives in :mod:`core.models.pair`; the architectures (:mod:`core.models.dattn`,
:mod:`core.models.minilm_sim`) build on it, and their specs (:mod:`core.models.architectures`)
say how this module builds them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from core.device import pick_device
from core.models.architectures import PAIR_ARCHITECTURES, architecture_spec
from core.models.factory import restore_or_verify, save_model
from core.models.pair import LoadedPairModel, PairClassifier

__all__ = ["PAIR_ARCHITECTURES", "build_pair_classifier", "build_pair_tokenizer", "bundle_pair", "load_pair_checkpoint",
           "save_pair_model"]


def build_pair_classifier(architecture: str, model_config: dict[str, Any], num_classes: int) -> PairClassifier:
    """A freshly initialised pair classifier (frozen pretrained parts loaded) for ``model_config``.

    Raises:
        ValueError: an unknown (or a single-text) architecture, listing the pair ones.
    """
    return architecture_spec(architecture, pair=True).build(model_config, {"kind": "none"}, num_classes)


def build_pair_tokenizer(architecture: str, model_config: dict[str, Any]):
    """The tokenizer (applied to each text alone) that ``model_config`` describes."""
    return architecture_spec(architecture, pair=True).tokenizer(model_config)


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
    restore_or_verify(model, config, path, pair=True)
    return bundle_pair(model.to(pick_device(device if isinstance(device, (str, torch.device)) or device is None
                                            else str(device))), config, name=path.name, path=path)
