"""The classifier contract every MaskLens model follows.

A classifier is split at the embedding layer so that explainers and mask
methods can act there::

    input_ids --embed--> embeddings --mask--> masked --represent--> sentence vector --head--> logits

- :meth:`embed`: ids [B, T] -> embeddings [B, T, d]
- ``mask``: the mask slot (:mod:`core.models.masks`), empty for base/l2 models
- :meth:`represent`: masked embeddings -> [B, H] sentence representation (used for t-SNE)
- :meth:`forward_embeddings`: embeddings -> logits, through the mask slot
  (what erasure and perturbation explainers call)

Outputs for one example never depend on how much padding its batch has, so
explainers may batch freely.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.data.tokenizers import EncodedBatch
from core.models.masks import MaskOutput, NoMask
from core.progress import heartbeat


@dataclass
class ClassifierOutput:
    """Logits [B, C] plus the mask layer's output (importance, regulariser)."""

    logits: torch.Tensor
    mask: MaskOutput


class MaskedTextClassifier(nn.Module):
    """Base class: subclasses define ``embed`` and ``represent`` and build ``head``.

    Args:
        mask_layer: module in the mask slot; ``None`` means :class:`NoMask`.
    """

    def __init__(self, mask_layer: nn.Module | None = None):
        super().__init__()
        self.mask = mask_layer if mask_layer is not None else NoMask()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def num_classes(self) -> int:
        """C, the number of classes (outputs of the head's last layer)."""
        return self.head[-1].out_features

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Word embeddings [B, T, d] of ids [B, T]."""
        raise NotImplementedError

    def represent(self, masked: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Sentence representation [B, H] of (masked) embeddings [B, T, d]."""
        raise NotImplementedError

    def forward_embeddings(self, embeddings: torch.Tensor, attention_mask: torch.Tensor,
                           token_mask: torch.Tensor | None = None) -> ClassifierOutput:
        """Classify from embeddings [B, T, d], applying the mask slot first.

        Args:
            attention_mask: [B, T] bool, real positions.
            token_mask: [B, T] bool, word positions the mask applies to;
                defaults to ``attention_mask`` (right for word-level models).
        """
        attention_mask = attention_mask.bool()
        token_mask = attention_mask if token_mask is None else token_mask.bool()
        mask_out = self.mask(embeddings, token_mask)
        return ClassifierOutput(self.head(self.represent(mask_out.masked, attention_mask)), mask_out)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_mask: torch.Tensor | None = None) -> ClassifierOutput:
        """Classify token ids [B, T]; see :meth:`forward_embeddings`."""
        return self.forward_embeddings(self.embed(input_ids), attention_mask, token_mask)

    @torch.no_grad()
    def substitution_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor,
                            replacements: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Logits of one text with one token swapped, for many swaps (word-level models).

        Args:
            input_ids: [1, T] the text's ids.
            attention_mask: [1, T] its real positions.
            positions: [N] position swapped in variant n.
            replacements: [N] id put there.
            batch_size: most variants per forward.

        Returns:
            [N, C] logits, in eval mode. This generic version builds every
            variant; architectures may override it with an exact shortcut.
        """
        out = []
        for start in range(0, positions.shape[0], batch_size):
            heartbeat(start / positions.shape[0])
            pos, rep = positions[start: start + batch_size], replacements[start: start + batch_size]
            ids = input_ids[:1].repeat(pos.shape[0], 1)
            ids[torch.arange(pos.shape[0], device=ids.device), pos] = rep
            out.append(self(ids, attention_mask[:1].expand(pos.shape[0], -1)).logits)
        return torch.cat(out) if out else input_ids.new_zeros((0, self.num_classes), dtype=torch.float)

    def classify(self, batch: EncodedBatch) -> ClassifierOutput:
        """Classify an :class:`EncodedBatch` (moved to this model's device)."""
        batch = batch.to(self.device)
        return self(batch.input_ids, batch.attention_mask, batch.token_mask)

    def frozen_parameter_names(self) -> list[str]:
        """Names of parameters rebuilt from a pretrained package instead of being stored."""
        return []

    def encode_states(self, masked: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Per-position states [B, T, H] of (masked) embeddings, what attention pooling reads."""
        raise NotImplementedError

    def attention_weights(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                          token_mask: torch.Tensor | None = None) -> torch.Tensor | None:
        """Attention weights alpha [B, T] of an attention-pooled model (rows sum to 1); None for other pooling."""
        attention = getattr(self, "attention", None)  # AdditiveAttention of the VAT learners (LSTM, MiniLM)
        if attention is None:
            return None
        attention_mask = attention_mask.bool()
        token_mask = attention_mask if token_mask is None else token_mask.bool()
        masked = self.mask(self.embed(input_ids), token_mask).masked
        return attention.weights(self.encode_states(masked, attention_mask), attention_mask)

    def token_importance(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                         token_mask: torch.Tensor | None = None) -> torch.Tensor | None:
        """The mask slot's per-token importance [B, T] in [0, 1] for ids [B, T] (None without a mask).

        For masks that look at each embedding alone this is
        ``mask.token_importance(embed(ids))``; models whose mask reads the
        context (E-VarM) override it.
        """
        return self.mask.token_importance(self.embed(input_ids))


def spread_keep(keep: torch.Tensor, word_ids: torch.Tensor, offset: int = 0) -> torch.Tensor:
    """Word-level keep [N, n] -> position-level keep [N, T] by each position's word id (+ ``offset``).

    Every piece of a word gets the word's value; special tokens and padding (word id < 0) get 1.
    """
    index = (word_ids + offset).clamp(min=0)
    gathered = keep[:, index] if keep.shape[1] else keep.new_ones(keep.shape[0], word_ids.shape[0])
    return torch.where(word_ids >= 0, gathered, torch.ones_like(gathered))


def masked_max_pool(hidden: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Max over time of ``hidden`` [B, T, H] at ``valid`` [B, T] positions.

    A row with no valid position uses its first position, so an empty text
    still gets a defined (constant) output instead of -inf.
    """
    valid = valid.clone()
    valid[:, 0] |= ~valid.any(dim=1)
    return hidden.masked_fill(~valid.unsqueeze(-1), float("-inf")).amax(dim=1)
