"""The transformer classifier: the packaged MiniLM (BERT-architecture) encoder by default, or a user's encoder."""

from __future__ import annotations

import torch
from torch import nn

from core.models import encoder as encoder_names
from core.models.attention import AdditiveAttention
from core.models.base import MaskedTextClassifier

POOLINGS = ("mean", "attention")


class MiniLMClassifier(MaskedTextClassifier):
    """Transformer encoder over (masked) word-piece embeddings, mean-pooled, dropout, linear.

    The mask slot sits on the word-piece embeddings, before position and
    token-type embeddings are added (the encoder receives ``inputs_embeds``).
    The word-embedding table is frozen for every method, as the VMASK paper
    does for BERT-VMASK ("fix the embedding layer and train the mask layer with
    the rest"); the rest of the encoder is fine-tuned. Deviation: MiniLM-L6-H384
    (6 layers, 22M parameters) instead of BERT-base (12 layers, 110M); the
    sentence vector is the mean over real positions, the pooling MiniLM was
    trained with, instead of the [CLS] vector.

    With ``pooling="attention"`` the sentence vector is VAT's R = sum_i alpha_i
    h_i over the last layer's states at the real positions ([CLS] and [SEP]
    included, as in BERT-ATT) with additive attention (VAT eq. 2).

    The encoder is the packaged MiniLM unless the model config names another
    (:mod:`core.models.encoder`: BERT, RoBERTa, DistilBERT, ...); its parameter
    names are read from the model (:func:`core.models.encoder.encoder_layout`).

    Args:
        encoder: a ``transformers`` encoder taking ``inputs_embeds`` (``BertModel``, ``RobertaModel``,
            ``DistilBertModel``, ...).
        pooling: ``mean`` or ``attention``.
        trainable_layers: fine-tune only the top ``trainable_layers`` encoder
            layers; the embeddings and lower layers are frozen and, like the
            word-embedding table, rebuilt from the encoder's source at load time instead
            of being stored (keeps shipped checkpoints small). None: all layers.
    """

    def __init__(self, encoder: nn.Module, num_classes: int, dropout: float = 0.2,
                 mask_layer: nn.Module | None = None, pooling: str = "mean", trainable_layers: int | None = None):
        super().__init__(mask_layer)
        if pooling not in POOLINGS:
            raise ValueError(f"unknown MiniLM pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
        self.layout = encoder_names.encoder_layout(encoder)
        layers = self.layout.num_layers
        if trainable_layers is not None and not 1 <= trainable_layers <= layers:
            raise ValueError(f"trainable_layers must be in 1..{layers} (the encoder's layers), got {trainable_layers}")
        self.encoder = encoder
        self.encoder.get_input_embeddings().weight.requires_grad_(False)
        self.trainable_layers = trainable_layers
        for name, param in self.encoder.named_parameters():
            if self._frozen_in_encoder(name):
                param.requires_grad_(False)
        hidden = encoder.config.hidden_size
        self.pooling = pooling
        self.attention = AdditiveAttention(hidden) if pooling == "attention" else None
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def _frozen_in_encoder(self, name: str) -> bool:
        """Whether the encoder parameter ``name`` (its name inside the encoder) is frozen and not stored."""
        return self.layout.is_frozen(name, self.trainable_layers)

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.encoder.get_input_embeddings()(input_ids)

    def encode_states(self, masked: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The last layer's states [B, T, hidden] for (masked) embeddings [B, T, d]."""
        return self.encoder(inputs_embeds=masked, attention_mask=attention_mask.long()).last_hidden_state

    def represent(self, masked: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[B, hidden]: mean of the last layer's states over real positions, or the attention sum R."""
        hidden = self.encode_states(masked, attention_mask)
        if self.attention is not None:
            return self.attention(hidden, attention_mask)[0]
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def frozen_parameter_names(self) -> list[str]:
        """The frozen encoder parameters (rebuilt from the encoder's source at load time, not stored)."""
        names = [(name, encoder_names.encoder_name(name)) for name, _ in self.named_parameters()]
        return [name for name, inner in names if inner is not None and self._frozen_in_encoder(inner)]
