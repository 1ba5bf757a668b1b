"""Attention weights as an explanation (the VAT paper's use of alpha; Zhou et al. 2021, sections 5.2-5.5).

A word's score is the attention mass alpha on it: alpha_i of eq. 2 for a
word model; for MiniLM the SUM over the word's pieces (so the scores keep
their meaning as a share of the attention; [CLS] and [SEP] hold the rest).
Scores are unsigned in [0, 1] and the same for every target class. Only
models trained with attention pooling (methods ``att`` and ``vat``) have them.
"""

from __future__ import annotations

from typing import Any

import torch

from core.explain.base import Explainer, ExplainError
from core.explain.erasure import word_position_masks
from core.explain.features import WordFeatures
from core.models.factory import LoadedModel


def has_attention(model: LoadedModel) -> bool:
    """True when ``model`` pools its states with additive attention (methods att, vat)."""
    return model.config.get("model_config", {}).get("pooling") == "attention"


class AttentionExplainer(Explainer):
    """Per-word attention weight alpha of an attention-pooled model (LSTM/MiniLM-ATT or -VAT), unsigned.

    Args:
        model: a model trained with method ``att`` or ``vat`` (``ExplainError`` otherwise).
    """

    name = "attention"
    label = "attention weights (ATT/VAT)"
    signed = False

    def __init__(self, model: LoadedModel, batch_size: int | None = None, seed: int = 0):
        super().__init__(model, batch_size=batch_size, seed=seed, unit="attention weight", signed=False)

    @classmethod
    def unsupported_reason(cls, model: LoadedModel) -> str | None:
        if has_attention(model):
            return None
        return (f"attention reads the model's attention weights, but {model.name or 'this model'} pools without "
                f"attention (method {model.config.get('method', 'base')!r}; train with att or vat)")

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor) -> tuple[list[float], dict[str, Any]]:
        """Scores [n_words]: attention mass per word (summed over its pieces); details: per-piece weights."""
        batch = features.batch
        alpha = self.model.model.attention_weights(batch.input_ids[:1], batch.attention_mask[:1],
                                                   batch.token_mask[:1])
        if alpha is None:
            raise ExplainError(f"{self.model.name or 'this model'} reports no attention weights")
        members = word_position_masks(batch).to(alpha.dtype)                # [n_words, T]
        scores = members @ alpha[0]
        pieces = [alpha[0][members[i].bool()].tolist() for i in range(members.shape[0])]
        return scores.double().tolist(), {"piece_attention": pieces,
                                          "other_positions": float(1.0 - scores.sum())}
