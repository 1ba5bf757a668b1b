"""Global word importance against word frequency (VMASK appendix F)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats


@dataclass
class FrequencyImportance:
    """Pearson correlation between word frequency and word importance.

    Attributes:
        pearson_r: Pearson's r in [-1, 1] (VMASK Table 11 reports it x 100).
        p_value: two-sided p-value of r (scipy.stats.pearsonr).
        table: one row per word: ``word``, ``frequency`` (raw count), ``importance``;
            sorted by importance, highest first.
    """

    pearson_r: float
    p_value: float
    table: pd.DataFrame


def frequency_importance(words: Sequence[str], scores: Sequence[float],
                         counts: Mapping[str, int] | Sequence[int]) -> FrequencyImportance:
    """r = pearsonr(frequency(w), importance(w)) over the words w (VMASK appendix F).

    The raw frequency is used, not its logarithm: appendix F correlates "word frequency" with the
    global importance (e.g. VMASK's expectation values) and mentions no transform.

    Args:
        words: W distinct words.
        scores: [W] importance of each word.
        counts: occurrences of each word, as a mapping word -> count (missing words count 0)
            or a sequence aligned with ``words``.

    Raises:
        ValueError: lengths differ, fewer than 2 words, repeated words, or a constant column.
    """
    words = list(words)
    scores = np.asarray(scores, dtype=np.float64)
    if isinstance(counts, Mapping):
        frequency = np.asarray([counts.get(w, 0) for w in words], dtype=np.float64)
    else:
        frequency = np.asarray(counts, dtype=np.float64)
    if not len(words) == len(scores) == len(frequency):
        raise ValueError(f"words ({len(words)}), scores ({len(scores)}) and counts ({len(frequency)}) "
                         "must have the same length")
    if len(words) < 2:
        raise ValueError("a correlation needs at least 2 words")
    if len(set(words)) != len(words):
        raise ValueError("words must be distinct")
    if np.ptp(scores) == 0 or np.ptp(frequency) == 0:
        raise ValueError("the correlation is undefined: all importances or all frequencies are equal")
    result = stats.pearsonr(frequency, scores)
    table = pd.DataFrame({"word": words, "frequency": frequency.astype(np.int64)
                          if np.all(frequency == np.round(frequency)) else frequency, "importance": scores})
    table = table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    return FrequencyImportance(float(result.statistic), float(result.pvalue), table)


DEFAULT_MIN_COUNT = 20
"""Default minimum training count of a word in a global-importance ranking. With 20 the shipped CNN-VMASK
cloud is led by task words (enjoyable, engrossing, forgettable, gorgeous, tedious, boring; dull 12th,
wonderful 71st); with 5 by weather words (sloppy, choppy, breezy, monsoon, soggy), with 1 by words seen
once; the CNN-IBA cloud needs it as much (names seen once at 1, "attal", "callar" at 5)."""


def frequent_words(words: Sequence[str], scores: Sequence[float], counts: Sequence[int],
                   min_count: int = DEFAULT_MIN_COUNT) -> tuple[list[str], list[float]]:
    """The words seen at least ``min_count`` times in training, with their scores, in the given order.

    A mask's importance of a word seen once or twice says more about its embedding's neighbours than
    about the task (a word model's mask reads only the embedding), so clouds and top lists filter.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    kept = [(w, float(s)) for w, s, c in zip(words, scores, counts) if c >= min_count]
    return [w for w, _ in kept], [s for _, s in kept]
