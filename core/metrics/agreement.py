"""How much do two explanation methods agree? Rank correlation and top-k overlap."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats


def _pair(a_scores: Sequence[float], b_scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a_scores, dtype=np.float64), np.asarray(b_scores, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"score vectors must be 1-D and of equal length, got {a.shape} and {b.shape}")
    if len(a) == 0:
        raise ValueError("score vectors are empty")
    return a, b


def kendall_tau(a_scores: Sequence[float], b_scores: Sequence[float]) -> float:
    """Kendall's tau-b between two score vectors over the same words (scipy.stats.kendalltau).

    Returns:
        tau in [-1, 1]; NaN when either vector is constant (or has one element).
    """
    a, b = _pair(a_scores, b_scores)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.kendalltau(a, b).statistic)


def top_k(scores: Sequence[float], k: int) -> list[int]:
    """Indices of the k highest scores (ties broken by position, as ``Explanation.ranking``)."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]


def top_k_overlap(a_scores: Sequence[float], b_scores: Sequence[float], k: int) -> float:
    """|top-k(a) ∩ top-k(b)| / k, in [0, 1].

    When the text has fewer than k words, k is taken as the number of words (so the overlap is 1).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    a, b = _pair(a_scores, b_scores)
    k = min(k, len(a))
    return len(set(top_k(a.tolist(), k)) & set(top_k(b.tolist(), k))) / k


def agreement_matrix(explanations_by_method: Mapping[str, Sequence],
                     k: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean pairwise Kendall tau and top-k overlap between methods.

    Examples are matched by text; only texts explained by every method (with the same words)
    are used (different words for one text raise ValueError). Each cell is the mean over those texts (tau: NaN values from constant scores are
    skipped; a cell is NaN when every value is).

    Args:
        explanations_by_method: method name -> list of :class:`~core.explain.base.Explanation`.
        k: size of the top sets for the overlap.

    Returns:
        (tau, overlap): two square DataFrames indexed by method name on both axes.
    """
    if len(explanations_by_method) < 1:
        raise ValueError("no methods to compare")
    by_text = {method: _index(method, explanations) for method, explanations in explanations_by_method.items()}
    shared = set.intersection(*(set(index) for index in by_text.values()))
    if not shared:
        raise ValueError("no text is explained by all methods")
    texts = sorted(shared)
    methods = list(by_text)
    for text in texts:
        word_lists = {tuple(by_text[m][text].words) for m in methods}
        if len(word_lists) > 1:
            raise ValueError(f"the methods explain different words for the text {text!r}")
    tau = pd.DataFrame(np.nan, index=methods, columns=methods)
    overlap = pd.DataFrame(np.nan, index=methods, columns=methods)
    for a in methods:
        for b in methods:
            pairs = [(by_text[a][t].scores, by_text[b][t].scores) for t in texts]
            taus = [kendall_tau(x, y) for x, y in pairs]
            tau.loc[a, b] = np.nanmean(taus) if not np.all(np.isnan(taus)) else np.nan
            overlap.loc[a, b] = float(np.mean([top_k_overlap(x, y, k) for x, y in pairs]))
    return tau, overlap


def _index(method: str, explanations: Sequence) -> dict:
    index = {}
    for explanation in explanations:
        index.setdefault(explanation.text, explanation)
    return index
