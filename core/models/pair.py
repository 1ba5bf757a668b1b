"""Sentence-pair classifiers: the contract, loading and saving.

A pair classifier reads two texts A and B, each tokenized on its own by the
model's tokenizer (so every word keeps its alignment, see
:class:`core.data.tokenizers.EncodedBatch`)::

    ids A --embed--> x1 --(x) keep A--+
                                      +--> compare --> logits [B, C]
    ids B --embed--> x2 --(x) keep B--+

Masks act on the word embeddings (GMASK eq. 1: x~ = W (.) x): ``keep`` is a
per-position factor in [0, 1] (1 = keep, 0 = the embedding set to zero), so one
forward serves zero erasure (a 0/1 keep), LIME/Shapley (0/1 features) and
IMASK/GMASK (relaxed Gumbel-softmax samples, with gradients).

Words of a pair are numbered A first, then B: word ``j`` of B is feature
``n_a + j``. :meth:`LoadedPairModel.word_keep_logits` maps a word-level keep
matrix [N, n_a + n_b] to the positions (all pieces of a word together;
``[CLS]``/``[SEP]`` and padding always kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from core.data.text import split_words
from core.data.tokenizers import EncodedBatch
from core.models.base import spread_keep
from core.models.bundle import ModelBundle


class PairClassifier(nn.Module):
    """Base class: subclasses define :meth:`embed` and :meth:`compare` (siamese reading of A and B)."""

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Word embeddings [B, T, d] of ids [B, T]."""
        raise NotImplementedError

    def compare(self, emb_a: torch.Tensor, attn_a: torch.Tensor, emb_b: torch.Tensor,
                attn_b: torch.Tensor) -> torch.Tensor:
        """Logits [B, C] from (masked) embeddings of A [B, Ta, d] and B [B, Tb, d] and their real positions."""
        raise NotImplementedError

    def forward_pair(self, a: EncodedBatch, b: EncodedBatch, keep_a: torch.Tensor | None = None,
                     keep_b: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [N, C] of the pairs (a[i], b[i]), each embedding scaled by its position's keep factor.

        Args:
            a, b: encoded texts on this model's device, B rows each (or one row, broadcast to N).
            keep_a, keep_b: [N, Ta] / [N, Tb] keep factors per position, or None (keep all).
        """
        emb_a, emb_b = self.masked_embeddings(a, b, keep_a, keep_b)
        rows = emb_a.shape[0]
        attn_a = a.attention_mask.expand(rows, -1) if a.attention_mask.shape[0] == 1 else a.attention_mask
        attn_b = b.attention_mask.expand(rows, -1) if b.attention_mask.shape[0] == 1 else b.attention_mask
        return self.compare(emb_a, attn_a.bool(), emb_b, attn_b.bool())

    def masked_embeddings(self, a: EncodedBatch, b: EncodedBatch, keep_a: torch.Tensor | None = None,
                          keep_b: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings of A [N, Ta, d] and B [N, Tb, d], scaled by the keep factors, broadcast to N rows."""
        emb_a, emb_b = self.embed(a.input_ids), self.embed(b.input_ids)
        if keep_a is not None:
            emb_a = emb_a * keep_a.unsqueeze(-1).to(emb_a.dtype)
        if keep_b is not None:
            emb_b = emb_b * keep_b.unsqueeze(-1).to(emb_b.dtype)
        rows = max(emb_a.shape[0], emb_b.shape[0])
        return emb_a.expand(rows, -1, -1), emb_b.expand(rows, -1, -1)

    def frozen_parameter_names(self) -> list[str]:
        """Parameters rebuilt from a pretrained package instead of being stored."""
        return []

    def fingerprinted_parameter_names(self) -> list[str]:
        """Frozen parameters whose sha256 is checked at load time (default: all frozen ones)."""
        return self.frozen_parameter_names()


@dataclass
class LoadedPairModel(ModelBundle):
    """A :class:`PairClassifier` with its tokenizer (applied to each text alone) and checkpoint config
    (``pair`` is True): what pair explainers and pages use."""

    pair = True

    def encode_words(self, words_a: Sequence[Sequence[str]], words_b: Sequence[Sequence[str]]
                     ) -> tuple[EncodedBatch, EncodedBatch]:
        """Encode already split words of the first and second texts (moved to the model's device)."""
        return (self.tokenizer.encode_words(words_a).to(self.device),
                self.tokenizer.encode_words(words_b).to(self.device))

    def encode(self, texts_a: Sequence[str], texts_b: Sequence[str]) -> tuple[EncodedBatch, EncodedBatch]:
        """Encode raw text pairs (cleaned and split with :func:`split_words`)."""
        return self.encode_words([split_words(t) for t in texts_a], [split_words(t) for t in texts_b])

    @torch.no_grad()
    def predict_words(self, pairs: Sequence[tuple[Sequence[str], Sequence[str]]], batch_size: int = 256) -> np.ndarray:
        """Class probabilities [N, C] (float64) for N (words of A, words of B) pairs; empty texts are allowed."""
        self.model.eval()
        chunks = []
        for start in range(0, len(pairs), batch_size):
            part = pairs[start: start + batch_size]
            a, b = self.encode_words([p[0] for p in part], [p[1] for p in part])
            chunks.append(torch.softmax(self.model.forward_pair(a, b).float(), -1).cpu().numpy())
        return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros((0, len(self.label_names)))

    def predict_proba(self, texts_a: Sequence[str], texts_b: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Class probabilities [N, C] for raw text pairs (two lists of N texts)."""
        if isinstance(texts_a, str) or isinstance(texts_b, str):
            raise ValueError("give lists of texts, e.g. predict_proba([text_a], [text_b]), not single strings")
        if len(texts_a) != len(texts_b):
            raise ValueError(f"got {len(texts_a)} first texts but {len(texts_b)} second texts")
        return self.predict_words([(split_words(a), split_words(b)) for a, b in zip(texts_a, texts_b)], batch_size)

    def position_keep(self, a: EncodedBatch, b: EncodedBatch, keep: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """Word-level keep [N, n_a + n_b] of one pair -> position-level keep_a [N, Ta], keep_b [N, Tb].

        Every piece of a word gets the word's factor; special tokens and padding get 1.
        """
        return spread_keep(keep, a.word_ids[0]), spread_keep(keep, b.word_ids[0], len(a.words[0]))

    def word_keep_logits(self, a: EncodedBatch, b: EncodedBatch, keep: torch.Tensor) -> torch.Tensor:
        """Logits [N, C] of one pair (``a``, ``b`` one row each) under N word-level keep vectors [N, n_a + n_b]."""
        keep_a, keep_b = self.position_keep(a, b, keep.to(self.device))
        return self.model.forward_pair(a, b, keep_a, keep_b)


def is_pair_model(model: Any) -> bool:
    """True for a :class:`LoadedPairModel` (or any loaded model whose config says ``pair``)."""
    return bool(getattr(model, "pair", False) or getattr(model, "config", {}).get("pair", False))
