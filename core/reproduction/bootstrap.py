"""Paired bootstrap intervals over examples (and seeds), and the verdict read from an interval.

A comparison has two sides, A and B, measured on the same examples. Per seed s, side X has
per-example values ``X[s]`` (arrays over the same M example ids, or dicts of such arrays for a
metric that is not a mean, e.g. the degradation score). A statistic turns the values of chosen
examples into one number (the mean, by default). The paired difference of seed s is
``stat(A[s][idx]) - stat(B[s][idx])``.

- within a seed: resample the M examples with replacement (the same indices for A and B);
- across seeds: resample the seeds with replacement, then the examples, and average the paired
  differences of the chosen seeds (a two-level bootstrap; with one seed it is the within-seed one).

The 95% interval is the 2.5 and 97.5 percentiles of the replicates. The verdict is computed from
the interval, never written by hand: entirely on the paper's side of 0 -> ``reproduced``; entirely
on the other side -> ``reversed``; containing 0 -> ``not resolved at this n``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

Values = Any  # np.ndarray [M] or {name: np.ndarray [M, ...]}
Statistic = Callable[[Values], float]
VERDICTS = ("reproduced", "reversed", "not resolved at this n")


def mean_statistic(values: Values) -> float:
    """The mean of per-example values [M]."""
    return float(np.mean(values))


def take(values: Values, indices: np.ndarray) -> Values:
    """The rows ``indices`` of per-example values (an array, or each array of a dict)."""
    if isinstance(values, dict):
        return {key: np.asarray(part)[indices] for key, part in values.items()}
    return np.asarray(values)[indices]


def n_examples(values: Values) -> int:
    """M, the number of examples in per-example values."""
    if isinstance(values, dict):
        return len(next(iter(values.values())))
    return len(values)


@dataclass
class Interval:
    """A paired difference A - B with its bootstrap interval.

    Attributes:
        difference: the mean over seeds of stat(A[s]) - stat(B[s]) on all examples.
        low, high: the 95% interval across seeds and examples.
        per_seed: [S] each seed's difference with its within-seed interval (difference, low, high).
        replicates: number of bootstrap replicates.
    """

    difference: float
    low: float
    high: float
    per_seed: list[tuple[float, float, float]] = field(default_factory=list)
    replicates: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"difference": self.difference, "low": self.low, "high": self.high,
                "per_seed": [list(t) for t in self.per_seed], "replicates": self.replicates}


def paired_interval(a: Sequence[Values], b: Sequence[Values], statistic: Statistic = mean_statistic,
                    replicates: int = 2000, seed: int = 0, level: float = 0.95) -> Interval:
    """The paired bootstrap interval of A - B (see the module docstring).

    Args:
        a, b: per seed, the per-example values of each side (the same M examples within a seed).
        statistic: values -> number (mean by default).
        replicates: bootstrap replicates (>= 10).
        seed: seed of the resampling.
        level: coverage of the interval.

    Raises:
        ValueError: sides with different seed counts or example counts, or no seed.
    """
    if not a or len(a) != len(b):
        raise ValueError(f"need the same number (>= 1) of seeds on both sides, got {len(a)} and {len(b)}")
    sizes = [n_examples(x) for x in a]
    if sizes != [n_examples(x) for x in b] or min(sizes) < 1:
        raise ValueError(f"both sides need the same examples per seed, got {sizes} and {[n_examples(x) for x in b]}")
    if replicates < 10:
        raise ValueError(f"replicates must be at least 10, got {replicates}")
    rng = np.random.default_rng(seed)
    diffs = [statistic(x) - statistic(y) for x, y in zip(a, b)]
    tail = (1 - level) / 2 * 100
    per_seed = []
    for x, y, size, diff in zip(a, b, sizes, diffs):
        draws = [_paired(x, y, rng.integers(0, size, size), statistic) for _ in range(replicates)]
        per_seed.append((diff, float(np.percentile(draws, tail)), float(np.percentile(draws, 100 - tail))))
    pooled = []
    for _ in range(replicates):
        chosen = rng.integers(0, len(a), len(a))
        pooled.append(np.mean([_paired(a[s], b[s], rng.integers(0, sizes[s], sizes[s]), statistic) for s in chosen]))
    return Interval(float(np.mean(diffs)), float(np.percentile(pooled, tail)), float(np.percentile(pooled, 100 - tail)),
                    per_seed, replicates)


def _paired(x: Values, y: Values, indices: np.ndarray, statistic: Statistic) -> float:
    return statistic(take(x, indices)) - statistic(take(y, indices))


def verdict(interval: Interval, direction: int) -> str:
    """``reproduced`` when the whole interval lies on the paper's side of 0 (``direction`` +1: A > B,
    -1: A < B), ``reversed`` when it lies on the other side, else ``not resolved at this n``."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    low, high = sorted((direction * interval.low, direction * interval.high))
    if low > 0:
        return VERDICTS[0]
    if high < 0:
        return VERDICTS[1]
    return VERDICTS[2]
