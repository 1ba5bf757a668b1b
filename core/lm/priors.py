"""Context-free likelihoods: uniform and unigram ("prior") word distributions.

These are the two baselines of the input-marginalization paper (section 4.5):
``uniform`` gives every candidate 1/|V|, ``prior`` gives each word its
training-set frequency. Neither looks at the text, so every row of
:meth:`distribution` is the same.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from core.data.text import split_words
from core.lm.base import LikelihoodModel

__all__ = ["UniformLikelihood", "UnigramLikelihood"]


def _check_positions(words: Sequence[str], positions: Sequence[int]) -> list[int]:
    positions = [int(p) for p in positions]
    for p in positions:
        if not 0 <= p < len(words):
            raise IndexError(f"position {p} is outside the text's {len(words)} words")
    return positions


class _ContextFree(LikelihoodModel):
    """A fixed distribution ``row`` over ``vocabulary``, returned for every position."""

    def __init__(self, vocabulary: Sequence[str], row: np.ndarray):
        self.vocabulary = list(vocabulary)
        if len(set(self.vocabulary)) != len(self.vocabulary):
            raise ValueError("the vocabulary lists a word twice")
        self._row = np.asarray(row, dtype=np.float32)
        self._row.setflags(write=False)

    def distribution(self, words: Sequence[str], positions: Sequence[int]) -> np.ndarray:
        positions = _check_positions(words, positions)
        return np.broadcast_to(self._row, (len(positions), len(self._row))).copy()


class UniformLikelihood(_ContextFree):
    """p(w | x_-i) = 1/|V| for every word of ``vocabulary``."""

    name = "uniform"

    def __init__(self, vocabulary: Sequence[str]):
        vocabulary = list(vocabulary)
        if not vocabulary:
            raise ValueError("the uniform likelihood needs a non-empty vocabulary")
        super().__init__(vocabulary, np.full(len(vocabulary), 1.0 / len(vocabulary)))


class UnigramLikelihood(_ContextFree):
    """p(w | x_-i) = p(w) = count(w) / total word count of a training corpus.

    The vocabulary is ordered by decreasing count (ties alphabetically); words
    below ``min_count`` are left out, so rows then sum to less than 1.

    Attributes:
        counts: word -> count over the corpus (all words, before ``min_count``).
        total: number of words in the corpus.
    """

    name = "unigram"

    def __init__(self, counts: dict[str, int], min_count: int = 1):
        if min_count < 1:
            raise ValueError("min_count must be at least 1")
        self.counts = dict(counts)
        self.total = int(sum(self.counts.values()))
        if self.total == 0:
            raise ValueError("the unigram likelihood needs a corpus with at least one word")
        kept = sorted((w for w, c in self.counts.items() if c >= min_count), key=lambda w: (-self.counts[w], w))
        if not kept:
            raise ValueError(f"no word occurs at least {min_count} times")
        super().__init__(kept, np.array([self.counts[w] for w in kept], dtype=np.float64) / self.total)

    @classmethod
    def from_texts(cls, texts: Iterable[str], min_count: int = 1) -> "UnigramLikelihood":
        """Count the words (:func:`split_words`) of raw ``texts``."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(split_words(text))
        return cls(counts, min_count=min_count)

    @classmethod
    def from_dataset(cls, name: str, min_count: int = 1) -> "UnigramLikelihood":
        """Word frequencies of a bundled dataset's training split."""
        from core.data.datasets import load_dataset

        model = cls.from_texts(load_dataset(name).train.texts, min_count=min_count)
        model.name = "unigram"
        return model
