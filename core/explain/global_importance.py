"""The model's *global* word importance used as a ranking (VMASK section 3.3 and 5.1.2).

A mask model stores, per word type of its training set, the expectation of its mask over
the training data (``config["global_importance"]``, see
:func:`core.training.trainer.global_importance`): E[q(R|x)] for VMASK, the mean lambda for
IBA, the selection probability for L2X. This explainer scores each word of a text by that
table, so "the top-k words" are the globally most important ones, as the VMASK paper's
post-hoc accuracy (Figure 1) selects them. Scores are unsigned, in [0, 1], the same for every
target class. A word the model never saw in training has no global importance and scores 0.
"""

from __future__ import annotations

from typing import Any

import torch

from core.explain.base import Explainer, ExplainError
from core.explain.features import WordFeatures
from core.models.factory import LoadedModel


def missing_reason(model: LoadedModel) -> str | None:
    """Why ``model`` has no global importance table (None when its checkpoint stores one)."""
    stored = model.config.get("global_importance")
    if not stored or not stored.get("words"):
        return (f"{model.name or 'this model'} stores no global word importance "
                f"(method {model.config.get('method')!r}; only mask methods have one)")
    return None


def importance_table(model: LoadedModel) -> dict[str, float]:
    """{word: global importance} of a mask model; :class:`ExplainError` when the checkpoint has none."""
    reason = missing_reason(model)
    if reason:
        raise ExplainError(reason)
    stored = model.config["global_importance"]
    return dict(zip(stored["words"], (float(s) for s in stored["scores"])))


class GlobalImportanceExplainer(Explainer):
    """Per-word score = the model's global importance of the word type (0 for words unseen in training).

    Args:
        model: a mask-trained model whose checkpoint stores ``global_importance``.
    """

    name = "global"
    label = "global word importance"
    signed = False
    requires_mask = True

    def __init__(self, model: LoadedModel, batch_size: int | None = None, seed: int = 0):
        super().__init__(model, batch_size=batch_size, seed=seed, unit="global importance", signed=False)
        self.table = importance_table(model)

    @classmethod
    def unsupported_reason(cls, model: LoadedModel) -> str | None:
        """Mask models without a stored table (e.g. trained before MaskLens stored one) cannot be ranked."""
        return missing_reason(model)

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor) -> tuple[list[float], dict[str, Any]]:
        """Scores [n_words]; details list the words missing from the table."""
        batch = features.batch
        words = batch.words[0]
        unseen = [w for w in words if w not in self.table]
        return [self.table.get(w, 0.0) for w in words], {"unseen_words": unseen}
