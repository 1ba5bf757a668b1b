"""Checkpoint files: safetensors weights + a JSON config, written atomically.

A checkpoint is a directory::

    <name>/
      config.json        # architecture, method, vocab, labels, metrics, settings,
                         # data fingerprint, sha256 of the weights file
      model.safetensors  # only the parameters that cannot be rebuilt

Frozen pretrained pieces (the GloVe table of word models, the word-embedding
table of MiniLM) are rebuilt from their registry packages at load time and
checked against a fingerprint stored in the config, so checkpoints stay small.

Never pickle: weights go through safetensors, everything else through JSON. The
directory is written beside its final place and renamed in one step, so a
killed run leaves either the previous checkpoint or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from core.fileio import atomic_directory

FORMAT = "masklens-checkpoint"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
REQUIRED_KEYS = ("format", "format_version", "architecture", "method", "dataset", "label_names", "model_config",
                 "weights_sha256")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt or does not match; the message names the file."""


def save_checkpoint(directory: str | Path, state: dict[str, torch.Tensor], config: dict[str, Any],
                    half_precision: bool = False, extra_files: dict[str, bytes] | None = None) -> Path:
    """Write ``state`` and ``config`` as a checkpoint directory, atomically.

    Args:
        directory: target directory; replaced as a whole if it exists.
        state: parameter name -> tensor (any device; stored on CPU).
        config: JSON-serialisable description; ``format``, ``format_version``
            and ``weights_sha256`` are filled in here.
        half_precision: store floating tensors as float16 (loading casts back
            to float32).
        extra_files: more files (plain names -> bytes) written in the same atomic step.

    Returns:
        The checkpoint directory.
    """
    tensors = {}
    for key, tensor in state.items():
        tensor = tensor.detach().to("cpu").contiguous()
        if half_precision and tensor.is_floating_point():
            tensor = tensor.half()
        tensors[key] = tensor
    weights = save_safetensors_bytes(tensors)
    config = {**config, "format": FORMAT, "format_version": FORMAT_VERSION,
              "weights_sha256": hashlib.sha256(weights).hexdigest()}
    directory = Path(directory)
    with atomic_directory(directory) as tmp:
        (tmp / WEIGHTS_FILE).write_bytes(weights)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        for file_name, data in (extra_files or {}).items():
            if Path(file_name).name != file_name or file_name in (CONFIG_FILE, WEIGHTS_FILE):
                raise ValueError(f"extra checkpoint file name {file_name!r} is not a plain new file name")
            (tmp / file_name).write_bytes(data)
    return directory


def read_config(directory: str | Path) -> dict[str, Any]:
    """Read and validate a checkpoint's ``config.json``.

    Raises:
        CheckpointError: the directory or file is missing, the JSON is broken,
            or required keys are absent; the message names the file.
    """
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint config not found (is {directory} a MaskLens checkpoint?)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: checkpoint config is not valid JSON ({err})") from err
    except RecursionError as err:
        raise CheckpointError(f"{path}: checkpoint config is nested too deeply to be a MaskLens config") from err
    except OSError as err:
        raise CheckpointError(f"{path}: checkpoint config cannot be read ({err})") from err
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a MaskLens checkpoint config (format field missing or wrong)")
    if config.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {config.get('format_version')} is not supported "
                              f"(this MaskLens reads version {FORMAT_VERSION})")
    missing = [key for key in REQUIRED_KEYS if key not in config]
    if missing:
        raise CheckpointError(f"{path}: checkpoint config lacks {', '.join(missing)}")
    problem = config_problem(config)
    if problem:
        raise CheckpointError(f"{path}: {problem}")
    return config


def is_number(value: Any) -> bool:
    """True for an int or float that is not a bool (JSON numbers read back)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# field -> (check, what it must be); fields other than REQUIRED_KEYS are checked when present
_FIELD_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "architecture": (lambda v: isinstance(v, str) and bool(v), "a non-empty string"),
    "method": (lambda v: isinstance(v, str) and bool(v), "a non-empty string"),
    "dataset": (lambda v: isinstance(v, str), "a string"),
    "label_names": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
                    "a list of class names (strings)"),
    "model_config": (lambda v: isinstance(v, dict), "an object"),
    "mask_config": (lambda v: isinstance(v, dict) and isinstance(v.get("kind", "none"), str),
                    "an object with a string 'kind'"),
    "weights_sha256": (lambda v: isinstance(v, str) and len(v) == 64, "a sha256 hex string"),
    "pair": (lambda v: isinstance(v, bool), "true or false"),
    "metrics": (lambda v: isinstance(v, dict) and all(v.get(k) is None or is_number(v[k])
                                                      for k in ("test_accuracy", "dev_accuracy", "best_epoch")),
                "an object whose accuracies and best_epoch are numbers"),
    "frozen_fingerprints": (lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
                            "an object of strings"),
    "training": (lambda v: isinstance(v, dict), "an object"),
    "history": (lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v), "a list of objects"),
    "global_importance": (lambda v: isinstance(v, dict) and all(isinstance(v.get(k), list)
                                                                for k in ("words", "scores", "counts"))
                          and len(v["words"]) == len(v["scores"]) == len(v["counts"]),
                          "an object with equally long lists words, scores, counts"),
}


def config_problem(config: dict[str, Any]) -> str | None:
    """What is wrong with the fields of a checkpoint config (None when each has its type)."""
    for key, (check, wanted) in _FIELD_CHECKS.items():
        if key in config and not check(config[key]):
            return f"checkpoint config field {key!r} must be {wanted}, got {_describe(config[key])}"
    return None


def _describe(value: Any) -> str:
    text = json.dumps(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def read_weights(directory: str | Path, config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Read a checkpoint's weights, checking them against the config's sha256.

    Returns:
        Parameter name -> float32 (or integer) CPU tensor.

    Raises:
        CheckpointError: the file is missing, truncated, corrupt, or belongs to
            another config; the message names the file.
    """
    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint weights not found")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != config["weights_sha256"]:
        raise CheckpointError(f"{path}: weights file is truncated, corrupt or from another checkpoint "
                              f"(sha256 does not match {Path(directory) / CONFIG_FILE})")
    try:
        tensors = load_safetensors_bytes(data)
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: cannot parse safetensors weights ({err})") from err
    return {key: t.float() if t.is_floating_point() else t for key, t in tensors.items()}
