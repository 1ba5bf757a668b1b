"""The packaged MiniLM sentence encoder used as a semantic-similarity classifier."""

from __future__ import annotations

import torch
from torch import nn

from core.models import encoder as encoder_names
from core.models.pair import PairClassifier


class CosineSimilarityClassifier(PairClassifier):
    """p(similar | A, B) = sigmoid(scale * (cos(e_A, e_B) - threshold)), e = mean-pooled MiniLM states.

    The encoder is the frozen, packaged all-MiniLM-L6-v2 (a sentence-embedding
    model trained for exactly this cosine); the sentence vector is the mean of
    the last layer over all real positions ([CLS] and [SEP] included), as
    sentence-transformers pools it. The only trained numbers are ``threshold``
    and ``scale``, a logistic calibration of the cosine fitted on a labelled
    pair set (see ``scripts/train_pair_models.py``). Logits are
    ``[0, scale * (cos - threshold)]`` so that softmax gives the sigmoid above.
    Masks scale the word-piece embeddings before position embeddings are added
    (as for the single-text MiniLM classifier).

    Args:
        encoder: a ``transformers`` ``BertModel`` (frozen here).
    """

    def __init__(self, encoder: nn.Module, threshold: float = 0.5, scale: float = 10.0):
        super().__init__()
        self.encoder = encoder.requires_grad_(False)
        self.threshold = nn.Parameter(torch.tensor(float(threshold)), requires_grad=False)
        self.scale = nn.Parameter(torch.tensor(float(scale)), requires_grad=False)

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.encoder.get_input_embeddings()(input_ids)

    def sentence_vectors(self, embeddings: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        """[B, 384] mean of the last layer over real positions."""
        hidden = self.encoder(inputs_embeds=embeddings, attention_mask=attention.long()).last_hidden_state
        weights = attention.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def cosine(self, emb_a, attn_a, emb_b, attn_b) -> torch.Tensor:
        """[B] cosine similarity of the two sentence vectors."""
        return torch.cosine_similarity(self.sentence_vectors(emb_a, attn_a), self.sentence_vectors(emb_b, attn_b),
                                       dim=-1, eps=1e-8)

    def compare(self, emb_a, attn_a, emb_b, attn_b) -> torch.Tensor:
        """[B, 2] logits (not similar, similar)."""
        logit = self.scale * (self.cosine(emb_a, attn_a, emb_b, attn_b) - self.threshold)
        return torch.stack([torch.zeros_like(logit), logit], dim=-1)

    def frozen_parameter_names(self) -> list[str]:
        """The whole encoder (rebuilt from the package at load time, not stored)."""
        return [name for name in self.state_dict() if encoder_names.encoder_name(name) is not None]

    def fingerprinted_parameter_names(self) -> list[str]:
        """The word-piece table alone is checked at load time (it identifies the package's encoder)."""
        return [encoder_names.classifier_name(encoder_names.encoder_layout(self.encoder).word_embeddings)]
