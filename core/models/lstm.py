"""Unidirectional LSTM with max-pooling over time, on frozen word embeddings."""

from __future__ import annotations

import torch
from torch import nn

from core.models.base import MaskedTextClassifier, masked_max_pool


class LSTMClassifier(MaskedTextClassifier):
    """One unidirectional LSTM layer, max-pool over the words' hidden states, dropout, linear.

    As in the VMASK paper (single unidirectional hidden layer; hidden size
    tuned in 100..500, MaskLens uses 150 for 50-d inputs). Deviation: frozen
    50-d GloVe instead of 300-d word2vec. A unidirectional LSTM's states at
    the words do not depend on later padding, so padding never changes a
    prediction.
    """

    architecture = "lstm"

    def __init__(self, embeddings: torch.Tensor, num_classes: int, hidden_dim: int = 150, dropout: float = 0.2,
                 mask_layer: nn.Module | None = None):
        super().__init__(mask_layer)
        self.embedding = nn.Embedding.from_pretrained(embeddings.float(), freeze=True, padding_idx=0)
        self.lstm = nn.LSTM(embeddings.shape[1], hidden_dim, batch_first=True)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_dim, num_classes))

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(input_ids)

    def represent(self, masked: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[B, hidden_dim] max-pooled hidden states over the text's words."""
        hidden, _ = self.lstm(masked)
        return masked_max_pool(hidden, attention_mask)

    def frozen_parameter_names(self) -> list[str]:
        return ["embedding.weight"]
