"""Faithfulness metrics on sentence pairs: a scorer over words of both texts.

A pair example's word list is ``[(side, word), ...]`` with side ``"a"`` or ``"b"``
(:meth:`core.explain.pair_base.PairExplanation.tagged_words`), so AOPC, post-hoc
accuracy and the degradation test of :mod:`core.metrics.faithfulness` delete (or keep)
words from either text unchanged: the scorer rebuilds the two texts from what is left.
Only the ``remove`` operation applies (the papers' deletion).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from core.models.pair import LoadedPairModel


def split_tagged(tagged: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """``[(side, word), ...]`` -> (words of A, words of B), each in its original order."""
    return [w for side, w in tagged if side == "a"], [w for side, w in tagged if side == "b"]


def pair_scorer(model: "LoadedPairModel", batch_size: int = 256):
    """A :data:`core.metrics.faithfulness.Scorer` over tagged word lists: probabilities [N, C] (float64)."""
    def score(word_lists: list[list[tuple[str, str]]]) -> np.ndarray:
        return model.predict_words([split_tagged([tuple(t) for t in tagged]) for tagged in word_lists], batch_size)

    return score


def pair_examples(explanations: Sequence[dict]) -> list[tuple[list[tuple[str, str]], list[int]]]:
    """``(tagged words, ranking)`` from pair explanation dicts (``PairExplanation.to_dict()``)."""
    examples = []
    for e in explanations:
        n_a, scores = e["n_words_a"], e["scores"]
        tagged = [("a" if i < n_a else "b", w) for i, w in enumerate(e["words"])]
        examples.append((tagged, sorted(range(len(scores)), key=lambda i: (-scores[i], i))))
    return examples
