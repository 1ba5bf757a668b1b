"""Faithfulness metrics: does removing the words an explanation ranks highest change the prediction?

The model is kept apart from the arithmetic. Every metric takes a :data:`Scorer`
(word lists -> class probabilities) and a list of examples ``(words, ranking)``
where ``ranking`` lists word indices from most to least important (see
:meth:`core.explain.base.Explanation.ranking`). The explained class ``y`` of an
example is always the class predicted on its full text by the scorer.

Perturbations are word-list transforms:

- ``"remove"`` (the papers' default): the words are deleted, the rest keep their order;
- ``"zero"``: each word stays in place but its embedding is set to zero (Li et al. 2016,
  the ``zero`` explainer's erasure). The word list carries a :class:`ZeroedWord` (a ``str``
  that remembers the word, so a wordpiece text keeps its pieces and positions) at those
  positions; :func:`model_scorer` zeroes their embeddings, every piece of the word;
- ``"unk"``: each word is replaced by an unknown-word token (``"<unk>"`` by default,
  the word tokenizers' unknown word). For wordpiece models the literal ``"<unk>"``
  is split into ordinary pieces; pass ``unk_token=unk_token_for(model)`` (``"[UNK]"``)
  to get the tokenizer's unknown piece instead;
- ``"mlm"``: each word is replaced by a word sampled from a masked LM (``likelihood``), one
  at a time in deletion order, each conditioned on the current text (earlier replacements
  included), as AUC_rep does (input marginalization 3.5). Seeded. Deleting more words extends
  the same chain, so the k-word and (k+1)-word texts share their first k samples.

Metrics: :func:`aopc` (GMASK eq. 9), :func:`posthoc_accuracy` (VMASK 5.1.2),
:func:`degradation` (GMASK eq. 10-11) and :func:`auc_rep` (input marginalization 3.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import numpy as np

if TYPE_CHECKING:  # the arithmetic needs neither torch nor a model
    from core.lm.base import LikelihoodModel
    from core.models.factory import LoadedModel

Scorer = Callable[[list[list[str]]], np.ndarray]
"""Class probabilities [N, C] (rows sum to 1) for N word lists; an empty list is a valid (empty) text.
A :class:`ZeroedWord` item is a word whose embedding must be read as zero (operation ``"zero"``)."""

Example = tuple[Sequence[str], Sequence[int]]
"""``(words, ranking)``: the words of a text and the word indices from most to least important."""

OPERATIONS = ("remove", "zero", "unk", "mlm")
UNK = "<unk>"


class ZeroedWord(str):
    """A word kept in its place whose embedding the scorer sets to zero (operation ``"zero"``).

    It is the original word (so a wordpiece tokenizer gives the same pieces and positions, as
    the ``zero`` explainer's erasure); a scorer must read it as erased, not as the word.
    """

    def __repr__(self) -> str:
        return f"ZeroedWord({str.__repr__(self)})"


class ZeroedItem(tuple):
    """A non-string word item (a pair's ``(side, word)``) marked as erased in place, like :class:`ZeroedWord`."""

    def __repr__(self) -> str:
        return f"ZeroedItem({tuple.__repr__(self)})"


def zeroed(item):
    """``item`` marked as erased in place: a :class:`ZeroedWord` for a word, a :class:`ZeroedItem` otherwise."""
    return ZeroedWord(item) if isinstance(item, str) else ZeroedItem(item)


# ---------------------------------------------------------------------------------------------- model side

def model_scorer(model: "LoadedModel", batch_size: int = 512) -> Scorer:
    """A :data:`Scorer` for a loaded classifier: softmax of its logits, batched, in eval mode, without gradients.

    Args:
        model: the classifier with its tokenizer.
        batch_size: most word lists per forward pass.

    Returns:
        a function mapping N word lists to a float64 array [N, C]. An empty word list is scored as
        the empty text (the tokenizer gives an all-padding row, or ``[CLS] [SEP]`` for wordpiece).
    """
    import torch

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    num_classes = len(model.label_names)

    def score(word_lists: list[list[str]]) -> np.ndarray:
        model.model.eval()
        chunks = []
        with torch.no_grad():
            for start in range(0, len(word_lists), batch_size):
                chunk = word_lists[start: start + batch_size]
                chunks.append(torch.softmax(_logits(model, chunk).float(), -1).cpu().numpy())
        return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros((0, num_classes))

    return score


def _logits(model: "LoadedModel", word_lists: list[list[str]]):
    """Logits [N, C] of word lists; the pieces of each :class:`ZeroedWord` get zero embeddings."""
    import torch

    batch = model.tokenizer.encode_words([[str(w) for w in words] for words in word_lists]).to(model.device)
    zeroed = [[i for i, w in enumerate(words) if isinstance(w, ZeroedWord)] for words in word_lists]
    if not any(zeroed):
        return model.model.classify(batch).logits
    keep = torch.ones_like(batch.word_ids, dtype=torch.bool)
    for row, indices in enumerate(zeroed):
        if indices:
            keep[row] = ~torch.isin(batch.word_ids[row], torch.tensor(indices, device=batch.word_ids.device))
    embeddings = model.model.embed(batch.input_ids)
    embeddings = embeddings * keep.unsqueeze(-1).to(embeddings.dtype)
    return model.model.forward_embeddings(embeddings, batch.attention_mask, batch.token_mask).logits


def unk_token_for(model: "LoadedModel") -> str:
    """The word that the model's tokenizer reads as unknown: ``"<unk>"`` for word models, ``"[UNK]"`` for wordpiece."""
    hf = getattr(model.tokenizer, "hf", None)
    return hf.unk_token if hf is not None else UNK


def examples_from_explanations(explanations: Iterable) -> list[tuple[list[str], list[int]]]:
    """``(words, ranking)`` pairs from :class:`~core.explain.base.Explanation` objects."""
    return [(list(e.words), e.ranking()) for e in explanations]


# ---------------------------------------------------------------------------------------------- perturbations

def delete_words(words: Sequence[str], drop: set[int]) -> list[str]:
    """``words`` without the positions in ``drop`` (the others keep their order)."""
    return [w for i, w in enumerate(words) if i not in drop]


def keep_words(words: Sequence[str], keep: set[int]) -> list[str]:
    """Only the positions in ``keep`` of ``words``, in their original order."""
    return [w for i, w in enumerate(words) if i in keep]


def replace_words(words: Sequence[str], drop: set[int], token: str = UNK) -> list[str]:
    """``words`` with each position in ``drop`` replaced by ``token`` (length unchanged)."""
    return [token if i in drop else w for i, w in enumerate(words)]


def perturb(words: Sequence[str], drop: set[int], operation: str = "remove", unk_token: str = UNK) -> list:
    """Apply ``operation`` (``"remove"``, ``"zero"`` or ``"unk"``) to the positions in ``drop``.

    ``"mlm"`` needs a masked LM and a random state: see :func:`deletion_chain`.
    """
    if operation == "remove":
        return delete_words(words, drop)
    if operation == "zero":
        return [zeroed(w) if i in drop else w for i, w in enumerate(words)]
    if operation == "unk":
        return replace_words(words, drop, unk_token)
    if operation == "mlm":
        raise ValueError("operation 'mlm' samples replacements: use deletion_chain with a likelihood model")
    raise ValueError(f"unknown operation {operation!r}; choose one of {', '.join(OPERATIONS)}")


def deletion_chain(words: Sequence[str], order: Sequence[int], counts: Sequence[int], operation: str = "remove",
                   unk_token: str = UNK, likelihood: "LikelihoodModel | None" = None,
                   rng: np.random.Generator | None = None) -> list[list]:
    """The text after deleting its first c positions of ``order``, for each c in ``counts``.

    Args:
        words: the text's n words.
        order: word indices in deletion order (a ranking, or a reversed ranking for LeRF).
        counts: [S] how many of ``order`` are deleted in each returned text (beyond n: all of them).
        operation: one of :data:`OPERATIONS`.
        unk_token: the replacement word for ``"unk"``.
        likelihood, rng: the masked LM and random state of ``"mlm"`` (required for it).

    Returns:
        S word lists (:class:`ZeroedWord` items under ``"zero"``).
    """
    return deletion_chains([(words, order, counts)], operation, unk_token, likelihood, rng)[0]


def deletion_chains(chains: Sequence[tuple[Sequence[str], Sequence[int], Sequence[int]]], operation: str = "remove",
                    unk_token: str = UNK, likelihood: "LikelihoodModel | None" = None,
                    rng: np.random.Generator | None = None) -> list[list[list]]:
    """:func:`deletion_chain` for many ``(words, order, counts)`` at once.

    Under ``"mlm"`` the chains advance in lockstep: step t of every chain that is still
    growing is one :meth:`~core.lm.base.LikelihoodModel.distribution_many` call (one batch
    through the LM), and the samples are drawn in chain order, so the result depends only on
    the chains and the random state.
    """
    if operation != "mlm":
        return [[perturb(words, set(order[:count]), operation, unk_token) for count in counts]
                for words, order, counts in chains]
    if likelihood is None or rng is None:
        raise ValueError("operation 'mlm' needs a likelihood model (e.g. load_likelihood('mlm')) and a seed")
    lengths = [min(max(counts, default=0), len(order)) for _, order, counts in chains]
    states = [{0: list(words)} for words, _, _ in chains]
    for step in range(max(lengths, default=0)):
        active = [c for c in range(len(chains)) if lengths[c] > step]
        requests = [(states[c][step], chains[c][1][step]) for c in active]
        rows = np.asarray(likelihood.distribution_many(requests), dtype=np.float64)
        for row, c in zip(rows, active):
            states[c][step + 1] = _sampled_text(states[c][step], chains[c][1][step], row, likelihood, rng)
    return [[list(states[c][min(count, len(order))]) for count in counts]
            for c, (_, order, counts) in enumerate(chains)]


# ---------------------------------------------------------------------------------------------- helpers

def _check_examples(examples: Sequence[Example]) -> list[tuple[list[str], list[int]]]:
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


def _score(scorer: Scorer, word_lists: list[list[str]]) -> np.ndarray:
    probs = np.asarray(scorer(word_lists), dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != len(word_lists):
        raise ValueError(f"the scorer must return an array [{len(word_lists)}, C], got shape {probs.shape}")
    return probs


def _full_predictions(scorer: Scorer, examples) -> tuple[np.ndarray, np.ndarray]:
    """(y [M] predicted classes on the full texts, p(y|x) [M])."""
    probs = _score(scorer, [words for words, _ in examples])
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


def _check_operation(operation: str, likelihood: "LikelihoodModel | None" = None) -> None:
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; choose one of {', '.join(OPERATIONS)}")
    if operation == "mlm" and likelihood is None:
        raise ValueError("operation 'mlm' needs a likelihood model (e.g. core.lm.mlm.load_likelihood('mlm'))")


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
        operation: ``"remove"``, ``"zero"``, ``"unk"`` or ``"mlm"`` (see the module docstring).
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
    _check_operation(operation, likelihood)
    examples = _check_examples(examples)
    gold = _check_unit(unit, labels, len(examples))
    full_probs = _score(scorer, [words for words, _ in examples])
    chains = deletion_chains([(words, ranking, range(1, k_max + 1)) for words, ranking in examples], operation,
                             unk_token, likelihood, np.random.default_rng(seed))
    variants = [variant for chain in chains for variant in chain]
    probs = _score(scorer, variants).reshape(len(examples), k_max, -1)
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
    examples = _check_examples(examples)
    gold = _check_unit(unit, labels, len(examples))
    target = _full_predictions(scorer, examples)[0] if gold is None else gold
    variants = [keep_words(words, set(ranking[:k])) for words, ranking in examples for k in k_values]
    kept_pred = _score(scorer, variants).argmax(1).reshape(len(examples), len(k_values))
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
    _check_operation(operation, likelihood)
    examples = _check_examples(examples)
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
    probs = _score(scorer, variants).reshape(len(examples), 1 + 2 * len(fractions), -1)
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
    examples = _check_examples(examples)
    steps = [max(1, _count(max_fraction, len(words))) for words, _ in examples]
    chains = deletion_chains([(words, ranking, range(s + 1)) for (words, ranking), s in zip(examples, steps)],
                             "mlm", likelihood=likelihood, rng=np.random.default_rng(seed))
    curves, areas = [], []
    for (words, _), states in zip(examples, chains):
        n, steps_here = len(words), len(states) - 1
        probs = _score(scorer, states)
        y = int(probs[0].argmax())
        fractions = np.arange(steps_here + 1) / n
        curve = probs[:, y]
        curves.append((fractions, curve))
        areas.append(float(np.trapezoid(curve, fractions) / fractions[-1]))
    per_example = np.asarray(areas)
    return AUCRepResult(curves, per_example, float(per_example.mean()))


def _sampled_text(words: list[str], position: int, row: np.ndarray, likelihood: "LikelihoodModel",
                  rng: np.random.Generator) -> list[str]:
    """``words`` with ``words[position]`` replaced by a word drawn from ``row`` (the LM's distribution there)."""
    total = row.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError(f"the likelihood model gives no probability mass for position {position} of {words}")
    choice = int(rng.choice(len(row), p=row / total))
    return [likelihood.vocabulary[choice] if i == position else w for i, w in enumerate(words)]
