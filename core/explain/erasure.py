"""Leave-one-out erasure explainers, and the batching helpers the other explainers share.

- :class:`ZeroErasure` (``zero``): the word's embedding(s) set to zero, the erasure of Li et
  al. (2016); for single texts passed through ``forward_embeddings`` so that a mask model's
  mask layer still applies; for a pair, each word of either text in turn.
- :class:`UnkErasure` (``unk``): the word's embedding(s) replaced by the unknown token's (the
  same as replacing its ids by the tokenizer's unknown id: embeddings are looked up per position).

For a wordpiece model a word is all of its pieces: every piece of the word is erased (zeroed,
or replaced by ``[UNK]``) together, so a word split into three pieces becomes three zero
vectors (or three ``[UNK]`` tokens), never one. The erasure itself is
:meth:`core.explain.features.WordFeatures.target_probs`.

Score of word i, by ``measure``:

- ``"woe"`` (default): log2 odds(y | x) - log2 odds(y | x_-i), the weight of
  evidence (eq. 1 of Kim et al. 2020), unit "log2 odds";
- ``"probability"``: p(y | x) - p(y | x_-i), unit "probability".
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from core.data.tokenizers import EncodedBatch
from core.explain.base import Explainer, ExplainError, log2_odds
from core.explain.features import WordFeatures
from core.models.factory import LoadedModel

MEASURE_UNITS = {"woe": "log2 odds", "probability": "probability"}


def word_position_masks(batch: EncodedBatch) -> torch.Tensor:
    """[n_words, T] bool: row i is True at the positions (pieces) of word i of the batch's first row."""
    n_words = len(batch.words[0])
    return batch.word_ids[0].unsqueeze(0) == torch.arange(n_words, device=batch.word_ids.device).unsqueeze(1)


def score_difference(p_full: float, p_without: torch.Tensor, measure: str = "woe") -> torch.Tensor:
    """Score per variant: log2 odds(p_full) - log2 odds(p_without) (``woe``) or p_full - p_without.

    Args:
        p_full: p(y | x) of the whole text.
        p_without: [n] p(y | x_-i) per word.

    Returns:
        [n] scores in log2 odds or probability units.
    """
    if measure == "probability":
        return p_full - p_without
    return log2_odds(torch.as_tensor(p_full, dtype=p_without.dtype)) - log2_odds(p_without)


def check_measure(measure: str) -> str:
    """``measure`` if it is ``woe`` or ``probability``; else :class:`ExplainError`."""
    if measure not in MEASURE_UNITS:
        raise ExplainError(f"measure must be one of {', '.join(MEASURE_UNITS)}, got {measure!r}")
    return measure


def leave_one_out_keep(n_words: int, words: list[int], device: torch.device) -> torch.Tensor:
    """[len(words), n_words] keep vectors: row k keeps every word but ``words[k]``."""
    keep = torch.ones(len(words), n_words, device=device)
    keep[torch.arange(len(words)), torch.as_tensor(words, dtype=torch.long)] = 0.0
    return keep


def zero_erasure_probs(model: LoadedModel, batch: EncodedBatch, words: list[int], target: int,
                       batch_size: int) -> torch.Tensor:
    """p(target | x with each listed word's embeddings zeroed), one variant per word: [len(words)]."""
    features = WordFeatures(model, (batch,))
    keep = leave_one_out_keep(len(batch.words[0]), words, batch.input_ids.device)
    return features.target_probs(keep, target, batch_size)


class _LeaveOneOut(Explainer):
    """Shared leave-one-out logic: erase each word in turn (one keep vector per word), score each word.

    Args:
        model: the model to explain.
        measure: ``"woe"`` (log2 odds difference, default) or ``"probability"``.
        batch_size: most variants per forward (default: per architecture, see :class:`Explainer`).
    """

    baseline: ClassVar[str] = "zero"
    param_help = {"measure": "woe: log2 odds(y|x) - log2 odds(y|x without the word); probability: the "
                             "difference of p(y)"}

    def __init__(self, model: LoadedModel, measure: str = "woe", batch_size: int | None = None, seed: int = 0):
        super().__init__(model, batch_size=batch_size, seed=seed, measure=check_measure(measure),
                         unit=MEASURE_UNITS[measure])

    def expected_passes(self, features: WordFeatures) -> int:
        """One erased variant per word, plus the full input."""
        return features.n_words + 1

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor
                  ) -> tuple[list[float], dict[str, Any]]:
        """Scores [n_words] (see module docstring for units) and details ``{"p_without": [n_words]}``."""
        n = features.n_words
        keep = leave_one_out_keep(n, list(range(n)), self.model.device)
        p_without = features.target_probs(keep, target, self.batch_size, self.baseline)
        scores = score_difference(float(probs[target]), p_without.double(), self.params["measure"])
        return scores.tolist(), {"p_without": p_without.tolist()}


class ZeroErasure(_LeaveOneOut):
    """Leave-one-out with the word's embedding(s) set to zero (all pieces of a wordpiece word); texts and pairs."""

    name = "zero"
    label = "zero erasure"
    supports = frozenset({"text", "pair"})


class UnkErasure(_LeaveOneOut):
    """Leave-one-out with the word's token id(s) replaced by the unknown id.

    For a word model the word becomes ``<unk>``; for a wordpiece model every
    piece of the word becomes ``[UNK]`` (a three-piece word becomes three
    ``[UNK]`` tokens), so the text keeps its length in pieces.
    """

    name = "unk"
    label = "[UNK] erasure"
    baseline = "unk"
