"""The interface every likelihood model offers to input marginalization.

A likelihood model proposes whole words for a position of a text and gives
each its probability p(candidate | x_-i). It returns a dense matrix over its
own fixed candidate vocabulary; truncation (sigma, top-N), mapping to a
classifier's vocabulary and renormalisation are the explainer's job.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


class LikelihoodModel:
    """Base class.

    Attributes:
        name: short name shown to users (``mlm``, ``unigram``, ``uniform``, or a model path).
        vocabulary: the whole words it can propose, in column order.
    """

    name = "abstract"
    vocabulary: list[str]

    def distribution(self, words: Sequence[str], positions: Sequence[int]) -> np.ndarray:
        """p(candidate | words without words[i]) for each i in ``positions``.

        Args:
            words: the text's words (from :func:`core.data.text.split_words`).
            positions: word indices to replace, each in ``range(len(words))``.

        Returns:
            float array [len(positions), len(vocabulary)]; each row sums to at
            most 1 (probability mass on tokens that are not whole words of the
            vocabulary is dropped, not redistributed).
        """
        raise NotImplementedError

    def distribution_many(self, requests: Sequence[tuple[Sequence[str], int]]) -> np.ndarray:
        """:meth:`distribution` for many (text, position) pairs at once.

        Row r is ``distribution(words_r, [position_r])[0]``; returns [R, len(vocabulary)]. This
        default calls :meth:`distribution` once per request; models that can batch override it.
        """
        if not requests:
            return np.zeros((0, len(self.vocabulary)))
        return np.concatenate([self.distribution(words, [position]) for words, position in requests])
