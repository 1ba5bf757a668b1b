"""The mask model's own word importance, read from its mask layer (no perturbation).

For VMASK this is E[q(R_t | x_t)] = q(R_t = keep | x_t) (Chen & Ji 2020,
section 3.4), for IBA the bottleneck's lambda_t, for L2X the sigmoid of the
selection score (see :mod:`core.models.masks`), for E-VarM the gate's keep
probability (:mod:`core.models.evarm`; it reads every encoder layer, so it
depends on the context). These scores are UNSIGNED, in
[0, 1]: a high score says the model relies on the word, not whether the word
supports or opposes the explained class, and they do not depend on the target
class. For a wordpiece model a word's score is the mean over its pieces.
"""

from __future__ import annotations

from typing import Any

import torch

from core.explain.base import Explainer, ExplainError
from core.explain.erasure import word_position_masks
from core.explain.features import WordFeatures
from core.models.factory import LoadedModel

UNITS = {"vmask": "keep probability", "iba": "keep weight (lambda)", "l2x": "selection probability",
         "evarm": "keep probability"}


class VMaskExplainer(Explainer):
    """Per-word mask importance of a mask-trained model (VMASK, IBA or L2X), unsigned in [0, 1].

    Word score = mean over the word's positions (pieces) of
    ``model.mask.token_importance(embeddings)``; unit "keep probability" for
    VMASK. The same for every target class.

    Args:
        model: a model trained with a mask method (``ExplainError`` otherwise).
    """

    name = "vmask"
    label = "VMASK mask E[q(R|x)]"
    signed = False
    requires_mask = True

    def __init__(self, model: LoadedModel, batch_size: int | None = None, seed: int = 0):
        kind = model.config.get("mask_config", {}).get("kind", "none")
        super().__init__(model, batch_size=batch_size, seed=seed, mask_kind=kind,
                         unit=UNITS.get(kind, "importance"), signed=False)

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor) -> tuple[list[float], dict[str, Any]]:
        """Scores [n_words] in [0, 1] (mean importance over each word's pieces); details hold per-piece values."""
        batch = features.batch
        importance = self.model.model.token_importance(batch.input_ids[:1], batch.attention_mask[:1],
                                                       batch.token_mask[:1])
        if importance is None:
            raise ExplainError(f"the mask layer of {self.model.name or 'this model'} reports no importance")
        members = word_position_masks(batch).to(importance.dtype)          # [n_words, T]
        scores = (members @ importance[0]) / members.sum(1)                # mean over pieces
        pieces = [importance[0][members[i].bool()].tolist() for i in range(members.shape[0])]
        return scores.double().tolist(), {"piece_importance": pieces}
