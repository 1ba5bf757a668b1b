"""Faithfulness metrics: does removing the words an explanation ranks highest change the prediction?

The model is kept apart from the arithmetic. Every metric takes a :data:`~core.metrics.perturbation.Scorer`
(word lists -> class probabilities) and a list of examples ``(words, ranking)``
where ``ranking`` lists word indices from most to least important (see
:meth:`core.explain.base.Explanation.ranking`). The explained class ``y`` of an
example is always the class predicted on its full text by the scorer.

Words are deleted by one of the word-list transforms of :mod:`core.metrics.perturbation`
(``"remove"``, ``"zero"``, ``"unk"``, ``"mlm"``; its docstring says what each does).

Metrics: :func:`aopc` (GMASK eq. 9), :func:`posthoc_accuracy` (VMASK 5.1.2),
:func:`degradation` (GMASK eq. 10-11) and :func:`auc_rep` (input marginalization 3.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from core.metrics.perturbation import (UNK, Scorer, ZeroedItem, ZeroedWord, check_operation,  # noqa: F401
                                       deletion_chains, keep_words, perturb)

# ZeroedItem, ZeroedWord and perturb are re-exported for the importers of this module from before
# the perturbations moved to core.metrics.perturbation.

if TYPE_CHECKING:  # the arithmetic needs neither torch nor a model
    from core.lm.base import LikelihoodModel

Example = tuple[Sequence[str], Sequence[int]]
"""``(words, ranking)``: the words of a text and the word indices from most to least important."""


def examples_from_explanations(explanations: Iterable) -> list[tuple[list[str], list[int]]]:
    """``(words, ranking)`` pairs from :class:`~core.explain.base.Explanation` objects."""
    return [(list(e.words), e.ranking()) for e in explanations]


# ---------------------------------------------------------------------------------------------- helpers

def check_examples(examples: Sequence[Example]) -> list[tuple[list[str], list[int]]]:
    """The M ``(words, ranking)`` pairs as lists; ValueError when there are none, a text has no words or a
    ranking is not a permutation of its word indices."""
    examples = list(examples)
    if not examples:
        raise ValueError("no examples to evaluate: the example list is empty")
    checked = []
    for index, (words, ranking) in enumerate(examples):
        words, ranking = list(words), [int(i) for i in ranking]
        if not words:
            raise ValueError(f"example {index} has no words")
        if len(ranking) != len(words):
            raise ValueError(f"example {index}: ranking has {len(ranking)} indices but the text has "
                             f"{len(words)} words; the ranking must order every word")
        if sorted(ranking) != list(range(len(words))):
            raise ValueError(f"example {index}: ranking must be a permutation of 0..{len(words) - 1}, got {ranking}")
        checked.append((words, ranking))
    return checked


def class_probabilities(scorer: Scorer, word_lists: list[list[str]]) -> np.ndarray:
    """``scorer(word_lists)`` as float64 [N, C]; ValueError for another shape."""
    probs = np.asarray(scorer(word_lists), dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != len(word_lists):
        raise ValueError(f"the scorer must return an array [{len(word_lists)}, C], got shape {probs.shape}")
    return probs


def _full_predictions(scorer: Scorer, examples) -> tuple[np.ndarray, np.ndarray]:
    """(y [M] predicted classes on the full texts, p(y|x) [M])."""
    probs = class_probabilities(scorer, [words for words, _ in examples])
    predicted = probs.argmax(1)
    return predicted, probs[np.arange(len(examples)), predicted]


UNITS = ("probability", "accuracy")
RANKINGS = ("signed", "magnitude")


def _check_unit(unit: str, labels: Sequence[int] | None, n_examples: int) -> np.ndarray | None:
    """The gold labels [M] as an array when ``unit == "accuracy"`` (None for ``"probability"``)."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; choose one of {', '.join(UNITS)}")
    if unit == "probability":
        return None
    if labels is None or len(labels) != n_examples:
        raise ValueError(f"unit 'accuracy' needs one gold label per example ({n_examples}), got "
                         f"{None if labels is None else len(labels)}")
    return np.asarray(labels, dtype=np.int64)


def ranking_of(scores: Sequence[float], by: str = "signed") -> list[int]:
    """Word indices from most to least important: by score (``"signed"``: a word that opposes the
    class ranks last) or by absolute score (``"magnitude"``: a strong opposing word ranks high).
    Ties keep the word order."""
    if by not in RANKINGS:
        raise ValueError(f"unknown ranking {by!r}; choose one of {', '.join(RANKINGS)}")
    key = (lambda i: (-abs(scores[i]), i)) if by == "magnitude" else (lambda i: (-scores[i], i))
    return sorted(range(len(scores)), key=key)


def _count(fraction: float, n: int) -> int:
    """round(fraction * n), halves rounded up (not Python's round-half-to-even)."""
    return min(n, int(math.floor(fraction * n + 0.5 + 1e-9)))


# ---------------------------------------------------------------------------------------------- AOPC

@dataclass
class AOPCResult:
    """Area over the perturbation curve.

    Attributes:
        per_k: for k = 1..K, the mean over examples of p(y|x) - p(y|x without its top-k words)
            (probability units, in [-1, 1]; unit ``accuracy``: 1[correct on x] - 1[correct without them]).
        value: (1 / (K + 1)) * sum_k per_k[k] (GMASK eq. 9).
        k_max: K.
        per_example: [M] each example's (1 / (K + 1)) * sum_k drop; ``value`` is their mean.
    """

    per_k: list[float]
    value: float
    k_max: int
    per_example: list[float] = field(default_factory=list)


def aopc(scorer: Scorer, examples: Sequence[Example], k_max: int = 10, operation: str = "remove",
         unk_token: str = UNK, likelihood: "LikelihoodModel | None" = None, seed: int = 0,
         unit: str = "probability", labels: Sequence[int] | None = None) -> AOPCResult:
    """AOPC = 1/(K+1) * sum_{k=1..K} < p(y|x) - p(y|x \\ top-1..k) >_x  (GMASK eq. 9).

    The 1/(K+1) factor follows GMASK eq. 9 (and Samek et al., whose curve includes k = 0 with a
    zero drop); VMASK 5.1.1 gives no formula. Texts with fewer than k words lose all their words
    at step k. Higher is better.

    Args:
        scorer: word lists -> class probabilities [N, C].
        examples: M ``(words, ranking)`` pairs.
        k_max: K, the most words removed (>= 1).
        operation: ``"remove"``, ``"zero"``, ``"unk"`` or ``"mlm"`` (see :mod:`core.metrics.perturbation`).
        unk_token: the replacement word for ``"unk"``.
        likelihood: the masked LM of ``"mlm"``.
        seed: seed of ``"mlm"``'s sampling.
        unit: ``"probability"`` (above) or ``"accuracy"``: the drop of 1[prediction = gold label]
            (the VAT paper's 5.2: "the average change of accuracy", classified by a separate model,
            which is the scorer's model).
        labels: [M] gold class indices, needed by ``"accuracy"``.
    """
    if k_max < 1:
        raise ValueError(f"k_max must be at least 1, got {k_max}")
    check_operation(operation, likelihood)
    examples = check_examples(examples)
    gold = _check_unit(unit, labels, len(examples))
    full_probs = class_probabilities(scorer, [words for words, _ in examples])
    chains = deletion_chains([(words, ranking, range(1, k_max + 1)) for words, ranking in examples], operation,
                             unk_token, likelihood, np.random.default_rng(seed))
    variants = [variant for chain in chains for variant in chain]
    probs = class_probabilities(scorer, variants).reshape(len(examples), k_max, -1)
    if gold is None:
        predicted = full_probs.argmax(1)
        full = full_probs[np.arange(len(examples)), predicted]
        perturbed = probs[np.arange(len(examples)), :, predicted]  # [M, K]
    else:
        full = (full_probs.argmax(1) == gold).astype(np.float64)
        perturbed = (probs.argmax(2) == gold[:, None]).astype(np.float64)
    drops = full[:, None] - perturbed
    per_k = drops.mean(0)
    return AOPCResult([float(v) for v in per_k], float(per_k.sum() / (k_max + 1)), k_max,
                      [float(v) for v in drops.sum(1) / (k_max + 1)])


# ---------------------------------------------------------------------------------------------- post-hoc accuracy

def posthoc_accuracy(scorer: Scorer, examples: Sequence[Example], k_values: Iterable[int] = range(1, 11),
                     unit: str = "probability", labels: Sequence[int] | None = None) -> dict[int, float]:
    """post-hoc-acc(k) = (1/M) * sum_m 1[y_m(k) = y_m]  (VMASK 5.1.2, after Chen et al. 2018).

    ``y_m`` is the prediction on the full text, ``y_m(k)`` the prediction on only the top-k words
    of the ranking, kept in their original order (all words when the text has fewer than k).
    With ``unit="accuracy"`` ``y_m`` is the gold label instead (the VAT paper's Table 4: "compare
    it with the ground truth").

    Returns:
        {k: accuracy in [0, 1]} for each k in ``k_values``.
    """
    k_values = [int(k) for k in k_values]
    hits = posthoc_hits(scorer, examples, k_values, unit, labels)
    return {k: float(hits[:, j].mean()) for j, k in enumerate(k_values)}


def posthoc_hits(scorer: Scorer, examples: Sequence[Example], k_values: Sequence[int], unit: str = "probability",
                 labels: Sequence[int] | None = None) -> np.ndarray:
    """Per example and k, 1.0 when the top-k words alone give ``y_m`` (see :func:`posthoc_accuracy`): [M, len(k_values)]."""
    k_values = [int(k) for k in k_values]
    if not k_values or min(k_values) < 1:
        raise ValueError(f"k_values must be a non-empty list of integers >= 1, got {k_values}")
    examples = check_examples(examples)
    gold = _check_unit(unit, labels, len(examples))
    target = _full_predictions(scorer, examples)[0] if gold is None else gold
    variants = [keep_words(words, set(ranking[:k])) for words, ranking in examples for k in k_values]
    kept_pred = class_probabilities(scorer, variants).argmax(1).reshape(len(examples), len(k_values))
    return (kept_pred == target[:, None]).astype(np.float64)


# ---------------------------------------------------------------------------------------------- degradation

@dataclass
class DegradationResult:
    """Degradation test (GMASK 5.1.3).

    Attributes:
        fractions: [F] degradation proportions rho in [0, 1] (fraction of words removed).
        morf: [F] normalised output S when the most relevant words go first.
        lerf: [F] normalised output S when the least relevant words go first.
        score: integral over rho of (lerf - morf) (trapezoid rule; rho in [0, 1] = GMASK's rho% / 100).
        per_example: per example p(y|x) [M], p(y|x_o) [M], MoRF and LeRF p(y|x_rho) [M, F], the inputs
            of :func:`degradation_curves` (for a bootstrap over examples).
    """

    fractions: np.ndarray
    morf: np.ndarray
    lerf: np.ndarray
    score: float
    per_example: dict[str, np.ndarray] = field(default_factory=dict)


def degradation(scorer: Scorer, examples: Sequence[Example], fractions: Sequence[float] = np.linspace(0, 1, 11),
                operation: str = "remove", unk_token: str = UNK, likelihood: "LikelihoodModel | None" = None,
                seed: int = 0) -> DegradationResult:
    """S(x_rho) = (<p(y|x_rho)> - <p(y|x_o)>) / (<p(y|x)> - <p(y|x_o)>);  score = int_0^1 S_LeRF - S_MoRF d rho.

    GMASK eq. 10-11: the probabilities are averaged over the examples first ("we compute the
    averages of p(y|x_rho), p(y|x) and p(y|x_o) over all test examples") and S is computed from
    the averages, not averaged per example. x_rho removes round(rho * n) words (halves rounded up)
    from the top (MoRF) or bottom (LeRF) of the ranking; x_o removes every word. Eq. 11 integrates
    over rho% in [0, 100] divided by 100, which equals the integral over rho in [0, 1] computed
    here with the trapezoid rule on ``fractions``. Higher is better. When <p(y|x)> = <p(y|x_o)>,
    S is undefined and is NaN.

    Args:
        scorer: word lists -> class probabilities [N, C].
        examples: M ``(words, ranking)`` pairs.
        fractions: [F] increasing proportions in [0, 1] (at least 2).
        operation: ``"remove"``, ``"zero"``, ``"unk"`` or ``"mlm"``. Under ``"mlm"`` x_o is the end of
            the MoRF chain (every word replaced) and LeRF is its own chain, least relevant first.
        unk_token: the replacement word for ``"unk"``.
        likelihood: the masked LM of ``"mlm"``.
        seed: seed of ``"mlm"``'s sampling.
    """
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1 or len(fractions) < 2 or np.any(np.diff(fractions) <= 0) \
            or fractions[0] < 0 or fractions[-1] > 1:
        raise ValueError(f"fractions must be at least 2 increasing values in [0, 1], got {fractions.tolist()}")
    check_operation(operation, likelihood)
    examples = check_examples(examples)
    predicted, full = _full_predictions(scorer, examples)
    chains = []
    for words, ranking in examples:
        counts = [_count(rho, len(words)) for rho in fractions]
        chains += [(words, ranking, counts + [len(words)]), (words, ranking[::-1], counts)]
    texts = deletion_chains(chains, operation, unk_token, likelihood, np.random.default_rng(seed))
    variants = []
    for (*morf, empty), lerf in zip(texts[0::2], texts[1::2]):
        variants.append(empty)
        for most, least in zip(morf, lerf):
            variants.extend([most, least])
    probs = class_probabilities(scorer, variants).reshape(len(examples), 1 + 2 * len(fractions), -1)
    p_y = probs[np.arange(len(examples)), :, predicted]  # [M, 1 + 2F]
    per_example = {"full": full, "empty": p_y[:, 0], "morf": p_y[:, 1::2], "lerf": p_y[:, 2::2]}
    morf, lerf, score = degradation_curves(fractions, **per_example)
    return DegradationResult(fractions, morf, lerf, score, per_example)


def degradation_curves(fractions: np.ndarray, full: np.ndarray, empty: np.ndarray, morf: np.ndarray,
                       lerf: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """GMASK eq. 10-11 from per-example probabilities: (S_MoRF [F], S_LeRF [F], score).

    Args:
        fractions: [F] rho values.
        full, empty: [M] p(y|x) and p(y|x_o).
        morf, lerf: [M, F] p(y|x_rho) with the most / least relevant words removed first.
    """
    empty_mean = empty.mean()
    denominator = full.mean() - empty_mean
    with np.errstate(divide="ignore", invalid="ignore"):
        s_morf = (morf.mean(0) - empty_mean) / denominator if denominator != 0 else np.full(len(fractions), np.nan)
        s_lerf = (lerf.mean(0) - empty_mean) / denominator if denominator != 0 else np.full(len(fractions), np.nan)
    return s_morf, s_lerf, float(np.trapezoid(s_lerf - s_morf, fractions))


# ---------------------------------------------------------------------------------------------- AUC_rep

@dataclass
class AUCRepResult:
    """AUC_rep (input marginalization 3.5).

    Attributes:
        curves: per example, (fractions [S+1] = replaced words / n, probabilities [S+1] = p(y|x_step)),
            step 0 being the original text.
        per_example: [M] normalised areas under each curve.
        value: mean of ``per_example``; lower is better (the curve should drop fast).
    """

    curves: list[tuple[np.ndarray, np.ndarray]]
    per_example: np.ndarray
    value: float

    def mean_curve(self, grid: Sequence[float]) -> np.ndarray:
        """The mean over examples of p(y|x_r) at each replaced fraction r of ``grid`` [G].

        Each example's curve is linearly interpolated at ``grid`` (``np.interp``); beyond the
        example's last step (its r_max can fall short of ``max_fraction`` by rounding) it holds
        its last value. For plotting; :attr:`value` is computed from the exact curves.
        """
        grid = np.asarray(grid, dtype=np.float64)
        return np.mean([np.interp(grid, fractions, probs) for fractions, probs in self.curves], axis=0)


def auc_rep(scorer: Scorer, likelihood: "LikelihoodModel", examples: Sequence[Example], max_fraction: float = 0.2,
            seed: int = 0) -> AUCRepResult:
    """AUC_rep = mean over examples of (1 / r_max) * int_0^{r_max} p(y | x_r) dr.

    Words are replaced in ranking order, one more per step, each by a word sampled (numpy
    Generator seeded with ``seed``) from ``likelihood.distribution(current_words, [i])``
    renormalised to sum 1 (the current text includes earlier replacements). S = round(max_fraction
    * n) steps (halves rounded up, at least 1), so r_max = S / n is ``max_fraction`` up to
    rounding. The area uses the trapezoid rule over r = (replaced words) / n and is divided by
    r_max, i.e. it is the mean height of the curve, a probability in [0, 1]. This normalisation
    is ours: the paper gives no formula, only "the AUC until 20% of the tokens are replaced".

    Args:
        scorer: word lists -> class probabilities [N, C].
        likelihood: proposes replacements over ``likelihood.vocabulary``.
        examples: M ``(words, ranking)`` pairs.
        max_fraction: share of words replaced at the end, in (0, 1].
        seed: seed of the sampling.
    """
    if not 0 < max_fraction <= 1:
        raise ValueError(f"max_fraction must be in (0, 1], got {max_fraction}")
    examples = check_examples(examples)
    steps = [max(1, _count(max_fraction, len(words))) for words, _ in examples]
    chains = deletion_chains([(words, ranking, range(s + 1)) for (words, ranking), s in zip(examples, steps)],
                             "mlm", likelihood=likelihood, rng=np.random.default_rng(seed))
    curves, areas = [], []
    for (words, _), states in zip(examples, chains):
        n, steps_here = len(words), len(states) - 1
        probs = class_probabilities(scorer, states)
        y = int(probs[0].argmax())
        fractions = np.arange(steps_here + 1) / n
        curve = probs[:, y]
        curves.append((fractions, curve))
        areas.append(float(np.trapezoid(curve, fractions) / fractions[-1]))
    per_example = np.asarray(areas)
    return AUCRepResult(curves, per_example, float(per_example.mean()))
