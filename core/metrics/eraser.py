"""ERASER comprehensiveness and sufficiency (DeYoung et al. 2020, section 4), as ferret reports them.

For a text x of n words, its explained class j (the class the scorer predicts on the full text,
as for :func:`core.metrics.aopc`) and a threshold t in (0, 1], the rationale r_t is the top
``ceil(t * n)`` words of the explanation's ranking (at least 1, at most n):

- comprehensiveness_t = p_j(x) - p_j(x \\ r_t): the rationale deleted (higher = more faithful);
- sufficiency_t = p_j(x) - p_j(r_t): only the rationale kept (lower = more faithful).

Both are probability differences in [-1, 1]. The reported ``value`` is their mean over the
thresholds and the examples (ERASER's and ferret's aggregate over the bins 1, 5, 10, 20, 50%);
the per-threshold means are kept. Words are deleted by the same word-list transforms as AOPC
(:func:`core.metrics.perturbation.deletion_chains`: ``remove``, ``zero``, ``unk`` or ``mlm``):
"keep only r_t" deletes the other words, least important first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from core.metrics.faithfulness import Example, check_examples, class_probabilities
from core.metrics.perturbation import UNK, Scorer, check_operation, deletion_chains

if TYPE_CHECKING:
    from core.lm.base import LikelihoodModel

THRESHOLDS = (0.01, 0.05, 0.1, 0.2, 0.5)
"""ERASER's bins (1, 5, 10, 20, 50% of the words), as fractions."""


@dataclass
class EraserResult:
    """Comprehensiveness or sufficiency of M examples at T thresholds.

    Attributes:
        thresholds: [T] fractions of the words in the rationale, in (0, 1].
        per_threshold: [T] the mean over examples of the probability difference at each threshold.
        value: the mean of ``per_threshold`` (probability units, in [-1, 1]).
        per_example: [M] each example's mean over the thresholds; ``value`` is their mean.
    """

    thresholds: list[float]
    per_threshold: list[float]
    value: float
    per_example: list[float] = field(default_factory=list)


def check_thresholds(thresholds: Sequence[float]) -> list[float]:
    """``thresholds`` as floats; ValueError unless it is a non-empty list of numbers in (0, 1]."""
    try:
        values = [float(t) for t in thresholds]
    except (TypeError, ValueError):
        raise ValueError(f"thresholds must be a list of numbers in (0, 1], got {thresholds!r}") from None
    bad = [t for t in values if not 0 < t <= 1]  # NaN fails too
    if not values or bad:
        raise ValueError(f"thresholds must be a non-empty list of fractions in (0, 1] (0.1 = 10% of the words), "
                         f"got {list(thresholds)!r}")
    return values


def rationale_size(threshold: float, n: int) -> int:
    """How many top words make the rationale of an n-word text: ceil(threshold * n), within [1, n].

    ``1e-9`` absorbs float error (0.2 * 5 is 1.0000000000000002, one word, not two)."""
    return min(n, max(1, math.ceil(threshold * n - 1e-9)))


def comprehensiveness(scorer: Scorer, examples: Sequence[Example], thresholds: Sequence[float] = THRESHOLDS,
                      operation: str = "remove", unk_token: str = UNK, likelihood: "LikelihoodModel | None" = None,
                      seed: int = 0) -> EraserResult:
    """mean_t mean_x [p_j(x) - p_j(x without its top ceil(t * n) words)] (ERASER; higher is better).

    Args:
        scorer: word lists -> class probabilities [N, C].
        examples: M ``(words, ranking)`` pairs (ranking: word indices, most important first).
        thresholds: [T] fractions in (0, 1] (default 1, 5, 10, 20, 50%).
        operation: ``"remove"``, ``"zero"``, ``"unk"`` or ``"mlm"`` (see :mod:`core.metrics.perturbation`).
        unk_token: the replacement word for ``"unk"``.
        likelihood: the masked LM of ``"mlm"``.
        seed: seed of ``"mlm"``'s sampling.
    """
    return _eraser(scorer, examples, thresholds, False, operation, unk_token, likelihood, seed)


def sufficiency(scorer: Scorer, examples: Sequence[Example], thresholds: Sequence[float] = THRESHOLDS,
                operation: str = "remove", unk_token: str = UNK, likelihood: "LikelihoodModel | None" = None,
                seed: int = 0) -> EraserResult:
    """mean_t mean_x [p_j(x) - p_j(only the top ceil(t * n) words of x)] (ERASER; lower is better).

    The kept words stay in their order; the others are deleted by ``operation``, least important
    first (under ``"mlm"`` one seeded chain per example). Arguments as :func:`comprehensiveness`.
    """
    return _eraser(scorer, examples, thresholds, True, operation, unk_token, likelihood, seed)


def _eraser(scorer: Scorer, examples: Sequence[Example], thresholds: Sequence[float], keep: bool, operation: str,
            unk_token: str, likelihood: "LikelihoodModel | None", seed: int) -> EraserResult:
    """Comprehensiveness (``keep`` False: the rationale deleted) or sufficiency (``keep``: the rest deleted)."""
    thresholds = check_thresholds(thresholds)
    check_operation(operation, likelihood)
    examples = check_examples(examples)
    chains = []
    for words, ranking in examples:
        sizes = [rationale_size(t, len(words)) for t in thresholds]
        chains.append((words, ranking[::-1], [len(words) - s for s in sizes]) if keep else (words, ranking, sizes))
    texts = deletion_chains(chains, operation, unk_token, likelihood, np.random.default_rng(seed))
    full = class_probabilities(scorer, [words for words, _ in examples])
    predicted = full.argmax(1)
    probs = class_probabilities(scorer, [text for chain in texts for text in chain])
    probs = probs.reshape(len(examples), len(thresholds), -1)  # [M, T, C]
    rows = np.arange(len(examples))
    drops = full[rows, predicted][:, None] - probs[rows, :, predicted]  # [M, T]
    per_threshold = drops.mean(0)
    return EraserResult(thresholds, [float(v) for v in per_threshold], float(per_threshold.mean()),
                        [float(v) for v in drops.mean(1)])
