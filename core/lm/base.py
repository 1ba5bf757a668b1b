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
