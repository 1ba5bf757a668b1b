"""Encoded splits and their batches for the training loop, and accuracy over a split.

A split is encoded once, padded to its longest row (:func:`encode_split`); each batch takes
its rows and trims them to their longest real length (:func:`batch_rows`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from core.data.tokenizers import EncodedBatch
from core.models.factory import LoadedModel


def encode_split(model: LoadedModel, word_lists: list[list[str]], chunk: int = 2048) -> EncodedBatch:
    """Encode a whole split once, padded to its longest row (batches are trimmed later)."""
    parts = [model.tokenizer.encode_words(word_lists[i: i + chunk]) for i in range(0, len(word_lists), chunk)]
    width = max(p.input_ids.shape[1] for p in parts)

    def cat(name: str, fill: int) -> torch.Tensor:
        return torch.cat([F.pad(getattr(p, name), (0, width - p.input_ids.shape[1]), value=fill) for p in parts])

    return EncodedBatch(cat("input_ids", model.tokenizer.pad_id), cat("attention_mask", False), cat("word_ids", -1),
                        [w for p in parts for w in p.words], [t for p in parts for t in p.truncated])


def batch_rows(encoded: EncodedBatch, rows: np.ndarray | slice, min_len: int) -> EncodedBatch:
    """Rows of an encoded split, trimmed to their longest real length (at least ``min_len``)."""
    attention = encoded.attention_mask[rows]
    width = max(int(attention.sum(1).max()) if len(attention) else 0, min_len)
    return EncodedBatch(encoded.input_ids[rows, :width], attention[:, :width], encoded.word_ids[rows, :width], [], [])


def min_len(model: LoadedModel) -> int:
    """The shortest input the model's tokenizer pads to (a CNN's widest filter; 1 otherwise)."""
    return getattr(model.tokenizer, "min_len", 1)


@torch.no_grad()
def accuracy(model: LoadedModel, encoded: EncodedBatch, labels: torch.Tensor, batch_size: int = 256) -> float:
    """Share of rows of ``encoded`` whose argmax prediction equals ``labels`` [N]."""
    model.model.eval()
    correct = 0
    for start in range(0, len(labels), batch_size):
        batch = batch_rows(encoded, slice(start, start + batch_size), min_len(model)).to(model.device)
        logits = model.model(batch.input_ids, batch.attention_mask, batch.token_mask).logits
        correct += int((logits.argmax(-1).cpu() == labels[start: start + batch_size]).sum())
    return correct / max(len(labels), 1)
