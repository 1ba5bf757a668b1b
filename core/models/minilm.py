"""Classifier on the packaged MiniLM (BERT-architecture) encoder."""

from __future__ import annotations

import torch
from torch import nn

from core.models.base import MaskedTextClassifier


class MiniLMClassifier(MaskedTextClassifier):
    """BERT-family encoder over (masked) word-piece embeddings, mean-pooled, dropout, linear.

    The mask slot sits on the word-piece embeddings, before position and
    token-type embeddings are added (the encoder receives ``inputs_embeds``).
    The word-embedding table is frozen for every method, as the VMASK paper
    does for BERT-VMASK ("fix the embedding layer and train the mask layer with
    the rest"); the rest of the encoder is fine-tuned. Deviation: MiniLM-L6-H384
    (6 layers, 22M parameters) instead of BERT-base (12 layers, 110M); the
    sentence vector is the mean over real positions, the pooling MiniLM was
    trained with, instead of the [CLS] vector.

    Args:
        encoder: a ``transformers`` ``BertModel`` (or any model taking ``inputs_embeds``).
    """

    architecture = "minilm"

    def __init__(self, encoder: nn.Module, num_classes: int, dropout: float = 0.2,
                 mask_layer: nn.Module | None = None):
        super().__init__(mask_layer)
        self.encoder = encoder
        self.encoder.get_input_embeddings().weight.requires_grad_(False)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(encoder.config.hidden_size, num_classes))

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.encoder.get_input_embeddings()(input_ids)

    def represent(self, masked: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[B, hidden] mean of the last layer's states over real positions."""
        hidden = self.encoder(inputs_embeds=masked, attention_mask=attention_mask.long()).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def frozen_parameter_names(self) -> list[str]:
        return ["encoder.embeddings.word_embeddings.weight"]
