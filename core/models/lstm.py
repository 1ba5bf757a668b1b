"""Unidirectional LSTM with max-pooling (or additive attention) over time, on frozen word embeddings."""

from __future__ import annotations

import torch
from torch import nn

from core.models.attention import AdditiveAttention
from core.models.base import MaskedTextClassifier, masked_max_pool

POOLINGS = ("max", "attention")


class LSTMClassifier(MaskedTextClassifier):
    """One unidirectional LSTM layer, max-pool (or attention) over the words' hidden states, dropout, linear.

    As in the VMASK paper (single unidirectional hidden layer; hidden size
    tuned in 100..500, MaskLens uses 150 for 50-d inputs). Deviation: frozen
    50-d GloVe instead of 300-d word2vec. A unidirectional LSTM's states at
    the words do not depend on later padding, so padding never changes a
    prediction.

    With ``pooling="attention"`` this is the VAT paper's learner (LSTM-ATT):
    R = sum_i alpha_i h_i with additive attention (eq. 2), then the MLP head.
    Deviations from VAT: frozen GloVe-50d (the paper fine-tunes GloVe-300d)
    and hidden size 150 (paper: 100), kept equal to MaskLens' LSTM-base so the
    baselines compare; the "MLP" is dropout + one linear layer.

    Args:
        pooling: ``max`` (LSTM-base) or ``attention`` (LSTM-ATT / LSTM-VAT learner).
    """

    def __init__(self, embeddings: torch.Tensor, num_classes: int, hidden_dim: int = 150, dropout: float = 0.2,
                 mask_layer: nn.Module | None = None, pooling: str = "max"):
        super().__init__(mask_layer)
        if pooling not in POOLINGS:
            raise ValueError(f"unknown LSTM pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
        self.embedding = nn.Embedding.from_pretrained(embeddings.float(), freeze=True, padding_idx=0)
        self.lstm = nn.LSTM(embeddings.shape[1], hidden_dim, batch_first=True)
        self.pooling = pooling
        self.attention = AdditiveAttention(hidden_dim) if pooling == "attention" else None
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_dim, num_classes))

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(input_ids)

    def encode_states(self, masked: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The LSTM's hidden states [B, T, hidden_dim] (later padding does not change them)."""
        return self.lstm(masked)[0]

    def represent(self, masked: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[B, hidden_dim]: max-pooled hidden states over the text's words, or the attention sum R."""
        hidden = self.encode_states(masked, attention_mask)
        if self.attention is None:
            return masked_max_pool(hidden, attention_mask)
        return self.attention(hidden, attention_mask)[0]

    def frozen_parameter_names(self) -> list[str]:
        return ["embedding.weight"]
