"""Leave-one-out erasure explainers, and the batching helpers the other explainers share.

- :class:`ZeroErasure` (``zero``): the word's embedding(s) set to zero, the
  erasure of Li et al. (2016), passed through ``forward_embeddings`` so that a
  mask model's mask layer still applies.
- :class:`UnkErasure` (``unk``): the word's token id(s) replaced by the
  tokenizer's unknown id.

For a wordpiece model a word is all of its pieces: every piece of the word is
erased (zeroed, or replaced by ``[UNK]``) together, so a word split into three
pieces becomes three zero vectors (or three ``[UNK]`` tokens), never one.

Score of word i, by ``measure``:

- ``"woe"`` (default): log2 odds(y | x) - log2 odds(y | x_-i), the weight of
  evidence (eq. 1 of Kim et al. 2020), unit "log2 odds";
- ``"probability"``: p(y | x) - p(y | x_-i), unit "probability".
"""

from __future__ import annotations

from typing import Any

import torch

from core.data.tokenizers import EncodedBatch
from core.explain.base import Explainer, ExplainError, log2_odds
from core.models.factory import LoadedModel

MEASURE_UNITS = {"woe": "log2 odds", "probability": "probability"}


def word_position_masks(batch: EncodedBatch) -> torch.Tensor:
    """[n_words, T] bool: row i is True at the positions (pieces) of word i of the batch's first row."""
    n_words = len(batch.words[0])
    return batch.word_ids[0].unsqueeze(0) == torch.arange(n_words, device=batch.word_ids.device).unsqueeze(1)


def target_probs_from_embeddings(model: LoadedModel, embeddings: torch.Tensor, batch: EncodedBatch, target: int,
                                 batch_size: int) -> torch.Tensor:
    """p(target | variant) for embedding variants of the batch's first row.

    Args:
        embeddings: [N, T, d] variants, all sharing row 0's attention and token masks.
        batch_size: most rows per forward (one ``forward_embeddings`` call per chunk).

    Returns:
        [N] probabilities (float tensor on the model's device).
    """
    attention, tokens = batch.attention_mask[:1], batch.token_mask[:1]
    chunks = []
    for start in range(0, embeddings.shape[0], batch_size):
        part = embeddings[start: start + batch_size]
        logits = model.model.forward_embeddings(part, attention.expand(len(part), -1),
                                                tokens.expand(len(part), -1)).logits
        chunks.append(torch.softmax(logits, -1)[:, target])
    return torch.cat(chunks) if chunks else embeddings.new_zeros(0)


def score_difference(p_full: float, p_without: torch.Tensor, measure: str = "woe") -> torch.Tensor:
    """Score per variant: log2 odds(p_full) - log2 odds(p_without) (``woe``) or p_full - p_without.

    Args:
        p_full: p(y | x) of the whole text.
        p_without: [n] p(y | x_-i) per word.

    Returns:
        [n] scores in log2 odds or probability units.
    """
    if measure == "probability":
        return p_full - p_without
    return log2_odds(torch.as_tensor(p_full, dtype=p_without.dtype)) - log2_odds(p_without)


def check_measure(measure: str) -> str:
    """``measure`` if it is ``woe`` or ``probability``; else :class:`ExplainError`."""
    if measure not in MEASURE_UNITS:
        raise ExplainError(f"measure must be one of {', '.join(MEASURE_UNITS)}, got {measure!r}")
    return measure


def zero_variants(model: LoadedModel, batch: EncodedBatch, words: list[int]) -> torch.Tensor:
    """[len(words), T, d] embeddings of the text, row k with every position of word ``words[k]`` zeroed."""
    keep = ~word_position_masks(batch)[words]                      # [n, T]
    embeddings = model.model.embed(batch.input_ids[:1])            # [1, T, d]
    return embeddings * keep.unsqueeze(-1).to(embeddings.dtype)    # [n, T, d]


def zero_erasure_probs(model: LoadedModel, batch: EncodedBatch, words: list[int], target: int,
                       batch_size: int) -> torch.Tensor:
    """p(target | x with each listed word's embeddings zeroed), one variant per word: [len(words)]."""
    return target_probs_from_embeddings(model, zero_variants(model, batch, words), batch, target, batch_size)


class _LeaveOneOut(Explainer):
    """Shared leave-one-out logic: build the n erased variants as one [n, T, d] tensor, score each word.

    Args:
        model: the model to explain.
        measure: ``"woe"`` (log2 odds difference, default) or ``"probability"``.
        batch_size: most variants per forward (default: per architecture, see :class:`Explainer`).
    """

    def __init__(self, model: LoadedModel, measure: str = "woe", batch_size: int | None = None, seed: int = 0):
        super().__init__(model, batch_size=batch_size, seed=seed, measure=check_measure(measure),
                         unit=MEASURE_UNITS[measure])

    def variants(self, batch: EncodedBatch) -> torch.Tensor:
        """[n_words, T, d] embeddings of the text with word i erased in row i."""
        raise NotImplementedError

    def attribute(self, batch: EncodedBatch, target: int, probs: torch.Tensor) -> tuple[list[float], dict[str, Any]]:
        """Scores [n_words] (see module docstring for units) and details ``{"p_without": [n_words]}``."""
        p_without = target_probs_from_embeddings(self.model, self.variants(batch), batch, target, self.batch_size)
        scores = score_difference(float(probs[target]), p_without.double(), self.params["measure"])
        return scores.tolist(), {"p_without": p_without.tolist()}


class ZeroErasure(_LeaveOneOut):
    """Leave-one-out with the word's embedding(s) set to zero (all pieces of a wordpiece word)."""

    name = "zero"
    label = "zero erasure"

    def variants(self, batch: EncodedBatch) -> torch.Tensor:
        """[n_words, T, d]: row i has every position of word i zeroed."""
        return zero_variants(self.model, batch, list(range(len(batch.words[0]))))


class UnkErasure(_LeaveOneOut):
    """Leave-one-out with the word's token id(s) replaced by the unknown id.

    For a word model the word becomes ``<unk>``; for a wordpiece model every
    piece of the word becomes ``[UNK]`` (a three-piece word becomes three
    ``[UNK]`` tokens), so the text keeps its length in pieces.
    """

    name = "unk"
    label = "[UNK] erasure"

    def variants(self, batch: EncodedBatch) -> torch.Tensor:
        """[n_words, T, d]: embeddings of row 0 with word i's ids set to ``unk_id`` in row i."""
        erase = word_position_masks(batch)
        ids = batch.input_ids[:1].expand(erase.shape[0], -1)
        ids = torch.where(erase, torch.full_like(ids, self.model.tokenizer.unk_id), ids)
        return torch.cat([self.model.model.embed(ids[start: start + self.batch_size])
                          for start in range(0, ids.shape[0], self.batch_size)])
