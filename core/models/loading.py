"""``load_model``: any model MaskLens can load, by registry name, checkpoint directory, ``hf:`` or ``hf-pair:`` source.

It dispatches on what it finds: a single-text checkpoint (:mod:`core.models.factory`; a registered
Hugging Face classifier is one whose spec builds it from its source), a sentence-pair checkpoint
(:mod:`core.models.pair_build`), a Hugging Face sequence classifier (:mod:`core.models.hf_classifier`)
or sequence-pair classifier (:mod:`core.models.hf_pair`). It sits above those modules, so none of them imports another
to dispatch.
"""

from __future__ import annotations

from pathlib import Path

import torch

from core import checkpoints
from core.device import pick_device
from core.models.factory import LoadedModel, build_classifier, bundle, config_errors_named, restore_or_verify
from core.models.hf_classifier import PREFIX as HF_PREFIX
from core.models.hf_classifier import load_source
from core.models.hf_pair import PREFIX as HF_PAIR_PREFIX
from core.models.hf_pair import load_hf_pair_model
from core.models.pair_build import load_pair_checkpoint
from core.registry import find_model


def checkpoint_path(name_or_path: str | Path) -> Path:
    """The checkpoint directory of a registry name or a directory given as a path.

    Raises:
        core.registry.ModelNotFoundError: a name that is not registered.
    """
    path = Path(name_or_path)
    given_as_path = isinstance(name_or_path, Path) or "/" in str(name_or_path) or path.is_absolute()
    if not (path.is_dir() and ((path / checkpoints.CONFIG_FILE).exists() or given_as_path)):
        path = Path(find_model(str(name_or_path)).path)  # a folder without a config: read_config says so
    return path


def load_model(name_or_path: str | Path, device: str | torch.device | None = None) -> LoadedModel:
    """Load a registered model by name, or a checkpoint directory by path.

    ``"hf:<directory or cached hub name>"`` wraps any Hugging Face sequence classifier, offline
    (:mod:`core.models.hf_classifier`). A sentence-pair checkpoint (config ``"pair": true``) gives a
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
        ValueError: an ``hf:`` source that cannot be loaded without the network.
    """
    device = device if isinstance(device, str) or device is None else str(device)
    if str(name_or_path).startswith(HF_PREFIX):
        model, tokenizer, config = load_source(str(name_or_path))
        return LoadedModel(Path(config["model_config"]["source"]).name, model.to(pick_device(device)), tokenizer,
                           config)
    if str(name_or_path).startswith(HF_PAIR_PREFIX):
        return load_hf_pair_model(str(name_or_path), device)
    path = checkpoint_path(name_or_path)
    config = checkpoints.read_config(path)
    target_device = pick_device(device)
    with config_errors_named(path):
        if config.get("pair"):
            return load_pair_checkpoint(path, config, target_device)
        model = build_classifier(config["architecture"], config["model_config"], config.get("mask_config", {}),
                                 len(config["label_names"]))
        restore_or_verify(model, config, path)
        return bundle(model.to(target_device), config, name=path.name, path=path)
