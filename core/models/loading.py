"""``load_model``: any model MaskLens can load, by registry name, checkpoint directory or ``hf-pair:`` source.

It dispatches on what it finds: a single-text checkpoint (:mod:`core.models.factory`), a
sentence-pair checkpoint (:mod:`core.models.pair_build`) or a Hugging Face sequence-pair
classifier (:mod:`core.models.hf_pair`). It sits above those modules, so none of them imports another
to dispatch.
"""

from __future__ import annotations

from pathlib import Path

import torch

from core import checkpoints
from core.device import pick_device
from core.models.factory import LoadedModel, build_classifier, bundle, config_errors_named, restore_weights
from core.models.hf_pair import PREFIX as HF_PAIR_PREFIX
from core.models.hf_pair import load_hf_pair_model
from core.models.pair_build import load_pair_checkpoint
from core.registry import find_model


def load_model(name_or_path: str | Path, device: str | torch.device | None = None) -> LoadedModel:
    """Load a registered model by name, or a checkpoint directory by path.

    A sentence-pair checkpoint (config ``"pair": true``) gives a
    :class:`core.models.pair.LoadedPairModel` instead, and so does
    ``"hf-pair:<directory or cached hub name>"``, any Hugging Face sequence-pair
    classifier (:mod:`core.models.hf_pair`).

    Args:
        name_or_path: registry name (see ``python -m core.models list``) or directory.
        device: ``None``/``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``.

    Raises:
        CheckpointError: the checkpoint is corrupt, truncated or does not match
            the installed pretrained packages; the message names the file.
        core.registry.ModelNotFoundError: no model of that name.
    """
    if str(name_or_path).startswith(HF_PAIR_PREFIX):
        return load_hf_pair_model(str(name_or_path), device if isinstance(device, str) or device is None else str(device))
    path = Path(name_or_path)
    given_as_path = isinstance(name_or_path, Path) or "/" in str(name_or_path) or path.is_absolute()
    if not (path.is_dir() and ((path / checkpoints.CONFIG_FILE).exists() or given_as_path)):
        path = Path(find_model(str(name_or_path)).path)  # a folder without a config: read_config says so
    config = checkpoints.read_config(path)
    target_device = pick_device(device if isinstance(device, str) or device is None else str(device))
    with config_errors_named(path):
        if config.get("pair"):
            return load_pair_checkpoint(path, config, target_device)
        model = build_classifier(config["architecture"], config["model_config"], config.get("mask_config", {}),
                                 len(config["label_names"]))
        restore_weights(model, config, path)
        return bundle(model.to(target_device), config, name=path.name, path=path)
