"""Input marginalization (Kim et al. 2020, "Interpretation of NLP models through input marginalization").

Instead of erasing word i (which makes an out-of-distribution input), the
classifier's output without it is marginalised over the words a likelihood
model proposes for that position (eq. 2), truncated adaptively to candidates
with p(c | x_-i) > sigma and renormalised over the kept ones (eq. 4)::

    p(y | x_-i) = sum_c p(y | c, x_-i) p(c | x_-i) / sum_c p(c | x_-i)
    score_i     = log2 odds(y | x) - log2 odds(p(y | x_-i))        (eq. 1, weight of evidence)

Candidate selection, per position i, from the likelihood model's row p(. | x_-i):

1. admissible candidates: for a word-vocabulary classifier with ``oov="drop"``
   only words in the classifier's vocabulary; with ``oov="unk"`` every word,
   words outside the vocabulary being fed to the classifier as ``<unk>``. A
   wordpiece classifier accepts every word (it splits it into pieces). A
   candidate that would be the padding token is never admissible.
2. truncation: admissible candidates with p > ``sigma`` or, when ``top_n`` is
   given, the ``top_n`` most likely admissible ones with p > 0 (fixed truncation).
3. renormalisation over the kept candidates. The original word is kept like any
   other candidate when the likelihood model proposes it (as in the paper).

A position with no kept candidate (e.g. every proposal outside the vocabulary)
falls back to zero erasure of the word; ``details["fallback"]`` lists them.

For a wordpiece classifier a candidate replaces the whole word (all its
pieces) and may itself have several pieces: variants are re-encoded with
``tokenizer.encode_words``.

Budgeted mode (MaskLens' addition, not in the paper). Exact marginalization costs one
classifier pass per kept candidate: about 2,600 per position at sigma = 1e-5 with the
shipped MLM, which is minutes per sentence on a transformer classifier on a CPU. With
``budget=B`` each position gets at most B passes: the most likely kept candidates (the
head) are evaluated exactly, and the rest of the renormalised mass (the tail) is estimated
from the remaining budget's draws from the tail with probability proportional to
the likelihood (with replacement; a candidate drawn twice is evaluated once)::

    p(y | x_-i) ~= sum_head w_c p(y | c, x_-i) + W_tail * mean_draws p(y | d, x_-i)

(the head takes :data:`HEAD_SHARE` of the budget): an unbiased estimate of eq. 4, whose
standard error W_tail * std(draws) / sqrt(n_draws) is returned per word
(``details["p_without_se"]``, and ``details["score_se"]`` in log2 odds by the delta method).
A position with at most B kept candidates is exact. ``budget="auto"`` (the
default) is exact for word-vocabulary models, whose substitution shortcut makes exact
marginalization fast, and :data:`DEFAULT_BUDGET` for wordpiece (transformer) models;
``budget="exact"`` forces the exact sum. The draws are seeded (``seed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from core.data.tokenizers import EncodedBatch
from core.explain.base import Explainer, ExplainError, log2_odds
from core.explain.erasure import word_position_masks, zero_erasure_probs
from core.explain.features import WordFeatures
from core.lm.base import LikelihoodModel
from core.models.factory import LoadedModel
from core.progress import heartbeat

OOV_RULES = ("drop", "unk")
# Classifier passes per position in budgeted mode, chosen by measurement (bench/marginal_budget.py,
# README "Input marginalization on transformer models": the largest budget within 75x zero erasure's time).
DEFAULT_BUDGET = 128
MIN_BUDGET = 4  # two exact head candidates and two tail draws, the fewest that give a standard error
# Budget share of the most likely candidates. Replayed at B=128 on the README's 50 sentences: 0.25 had a
# slightly lower mean error (0.047 vs 0.049 log2 odds) but a larger largest one (0.54 vs 0.45); 0.75 was worse.
HEAD_SHARE = 0.5


@dataclass
class CandidateTable:
    """How the likelihood model's vocabulary maps onto the classifier.

    Attributes:
        admissible: [V_lm] bool, candidates the classifier can be given.
        ids: [V_lm] long classifier ids (word models; ``<unk>`` id for OOV with ``oov="unk"``), None for wordpiece.
    """

    admissible: np.ndarray
    ids: np.ndarray | None


def candidate_table(likelihood: LikelihoodModel, model: LoadedModel, oov: str) -> CandidateTable:
    """Map the likelihood vocabulary onto ``model``'s inputs under the ``oov`` rule (see module docstring)."""
    words = list(likelihood.vocabulary)
    tokenizer = model.tokenizer
    if tokenizer.kind != "word":
        pad = getattr(getattr(tokenizer, "hf", None), "pad_token", None)
        return CandidateTable(np.array([bool(w) and w != pad for w in words], dtype=bool), None)
    index = tokenizer.vocab.index
    ids = np.array([index.get(w, -1) for w in words], dtype=np.int64)
    admissible = ids != tokenizer.pad_id
    if oov == "drop":
        admissible &= ids >= 0
    ids = np.where(ids >= 0, ids, tokenizer.unk_id)
    return CandidateTable(admissible, ids)


def select_candidates(row: np.ndarray, admissible: np.ndarray, sigma: float,
                      top_n: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Kept candidates of one position, most likely first, and their renormalised likelihoods.

    Args:
        row: [V_lm] p(c | x_-i) from the likelihood model.
        admissible: [V_lm] bool.
        sigma: keep p > sigma (ignored when ``top_n`` is given).
        top_n: keep the ``top_n`` most likely admissible candidates with p > 0.

    Returns:
        (indices [k] into the vocabulary, weights [k] summing to 1); both empty when nothing is kept.
    """
    row = np.asarray(row, dtype=np.float64)
    if top_n is not None:
        keep = np.flatnonzero(admissible & (row > 0))
        keep = keep[np.argsort(-row[keep], kind="stable")[:top_n]]
    else:
        keep = np.flatnonzero(admissible & (row > sigma))
        keep = keep[np.argsort(-row[keep], kind="stable")]
    total = row[keep].sum()
    return keep, (row[keep] / total if total > 0 else row[keep])


@dataclass
class PositionBudget:
    """Which kept candidates of one position are evaluated, and how they combine into p(y | x_-i).

    Attributes:
        head: the first ``head`` kept candidates (the most likely) are evaluated exactly.
        draws: [S] indices into the kept candidates (all >= ``head``) drawn from the tail with
            probability proportional to their weights; empty when the position is exact.
        tail_mass: renormalised weight of the tail (0 when exact).
    """

    head: int
    draws: np.ndarray
    tail_mass: float

    @property
    def evaluated(self) -> np.ndarray:
        """[m] sorted indices into the kept candidates that need a classifier pass (m <= budget)."""
        return np.union1d(np.arange(self.head), self.draws).astype(np.int64)

    def estimate(self, weights: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
        """(p(y | x_-i), its standard error) from ``probs`` [m] p(y | c, x_-i) of :attr:`evaluated`.

        Args:
            weights: [k] renormalised likelihoods of all kept candidates (summing to 1).
        """
        if self.draws.size == 0:  # exact: every candidate evaluated, in order
            return float(np.dot(weights, probs)), 0.0
        at = dict(zip(self.evaluated.tolist(), probs))
        exact = float(np.dot(weights[: self.head], [at[j] for j in range(self.head)]))
        sampled = np.array([at[int(j)] for j in self.draws])
        se = self.tail_mass * float(np.std(sampled, ddof=1)) / np.sqrt(sampled.size)
        return exact + self.tail_mass * float(sampled.mean()), se


def budget_position(weights: np.ndarray, budget: int | None, rng: np.random.Generator,
                    head_share: float = HEAD_SHARE) -> PositionBudget:
    """The evaluation plan of one position with ``k`` kept candidates (weights [k], most likely first).

    Exact (every candidate, no draws) when ``budget`` is None or ``k <= budget``; otherwise the
    ``head = round(head_share * budget)`` most likely exactly (at least 2, leaving at least 2
    draws) and ``budget - head`` likelihood-proportional draws from the rest (see the module
    docstring).
    """
    k = len(weights)
    if budget is None or k <= budget:
        return PositionBudget(k, np.zeros(0, dtype=np.int64), 0.0)
    head = min(max(int(round(head_share * budget)), 2), budget - 2)
    tail = np.asarray(weights[head:], dtype=np.float64)
    tail_mass = float(tail.sum())
    draws = head + rng.choice(k - head, size=budget - head, replace=True, p=tail / tail_mass)
    return PositionBudget(head, np.sort(draws), tail_mass)


def resolve_budget(budget: Any, model: LoadedModel) -> int | None:
    """The per-position pass budget (None = exact) for ``budget`` = ``"auto"``, ``"exact"`` or an int >= 4.

    ``"auto"``: exact for word-vocabulary models, :data:`DEFAULT_BUDGET` for wordpiece ones.

    Raises:
        ExplainError: any other value.
    """
    if budget == "auto":
        return None if model.tokenizer.kind == "word" else DEFAULT_BUDGET
    if budget in ("exact", None):
        return None
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < MIN_BUDGET:
        raise ExplainError(f"budget must be 'auto', 'exact' or an integer >= {MIN_BUDGET} (classifier passes "
                           f"per word), got {budget!r}")
    return int(budget)


def log2_odds_slope(p: np.ndarray) -> np.ndarray:
    """[n] d/dp log2(p / (1 - p)) = 1 / (p (1 - p) ln 2), with p clipped as :func:`log2_odds` clips it."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return 1.0 / (p * (1 - p) * np.log(2.0))


def likelihood_rows(likelihood: LikelihoodModel, words: list[str]) -> np.ndarray:
    """[n_words, V_lm] p(c | x_-i) for every position, from one ``distribution`` call (shape checked)."""
    rows = np.asarray(likelihood.distribution(words, list(range(len(words)))), dtype=np.float64)
    expected = (len(words), len(likelihood.vocabulary))
    if rows.shape != expected:
        raise ExplainError(f"likelihood model {likelihood.name!r} returned shape {rows.shape}, expected {expected}")
    return rows


def check_options(sigma: float, top_n: int | None, oov: str, keep_candidates: int) -> None:
    """Raise :class:`ExplainError` for an invalid marginalization option."""
    if oov not in OOV_RULES:
        raise ExplainError(f"oov must be one of {', '.join(OOV_RULES)}, got {oov!r}")
    if not 0 <= sigma < 1:
        raise ExplainError(f"sigma must be in [0, 1), got {sigma!r}")
    if top_n is not None and (not isinstance(top_n, (int, np.integer)) or top_n < 1):
        raise ExplainError(f"top_n must be a positive integer or None, got {top_n!r}")
    if keep_candidates < 0:
        raise ExplainError(f"keep_candidates must be >= 0, got {keep_candidates!r}")


def _finish(vocabulary: Sequence[str], p_full: float, p_without: np.ndarray, plan: list[tuple[np.ndarray, np.ndarray]],
            cand_probs: list[np.ndarray], fallback: list[int], keep_candidates: int,
            n_kept: list[int] | None = None) -> tuple[list[float], dict[str, Any]]:
    """Eq. 1 per word (log2 odds) and JSON details, from p(y | x_-i) [n_words] and the evaluated candidates.

    Args:
        plan: per word, (candidate indices [m], renormalised likelihoods [m]) of the evaluated
            candidates, most likely first; ``cand_probs`` is aligned with it.
        n_kept: per word, the kept candidates before a budget (default: ``m``, exact mode).
    """
    scores = log2_odds(p_full) - log2_odds(p_without)
    details = {
        "candidates": [[{"word": vocabulary[int(c)], "likelihood": float(w), "prob": float(p)}
                        for c, w, p in list(zip(idx, weights, cand_probs[i]))[:keep_candidates]]
                       for i, (idx, weights) in enumerate(plan)],
        "n_candidates": [int(len(idx)) for idx, _ in plan] if n_kept is None else [int(n) for n in n_kept],
        "p_without": p_without.tolist(),
        "fallback": sorted(fallback),
    }
    return scores.tolist(), details


class InputMarginalization(Explainer):
    """Input marginalization with adaptively truncated candidates (Algorithm 1, eq. 4), batched.

    All (position, candidate) variants of the text go through the classifier
    in chunks of ``batch_size`` rows. Word models: the id row is copied and
    position i set to the candidate's id (variants that give the same ids,
    e.g. several OOV words mapped to ``<unk>``, are computed once). Wordpiece
    models: a candidate replaces every piece of word i by its own pieces (the
    same ids as re-encoding the word list with ``encode_words``, without
    re-tokenizing the other words; see :meth:`_wordpiece_variants`).

    Args:
        model: the model to explain.
        likelihood: proposes candidates p(c | x_-i) (one ``distribution`` call per text).
        sigma: likelihood threshold (the paper's 1e-5).
        top_n: fixed truncation to the top-n candidates instead of ``sigma``.
        oov: ``"drop"`` or ``"unk"``: what to do with candidates outside a word model's vocabulary.
        keep_candidates: candidates per word reported in ``details["candidates"]``.
        budget: ``"auto"`` (exact for word models, :data:`DEFAULT_BUDGET` passes per word for
            wordpiece models), ``"exact"``, or the most classifier passes per word (>= 4); see
            the module docstring. ``params["budget"]`` records the resolved value and
            ``params["mode"]`` ``"exact"`` or ``"budgeted"``.
        batch_size: most variants per forward.
        seed: seed of the budgeted mode's tail draws (recorded only in budgeted mode).

    Details: ``candidates`` (per word, the top ``keep_candidates`` evaluated candidates as
    ``{"word", "likelihood" (renormalised), "prob" (p(y | c, x_-i))}``),
    ``n_candidates`` (kept candidates per word), ``n_evaluated`` (classifier passes per word),
    ``p_without`` (p(y | x_-i) per word), ``p_without_se`` and ``score_se`` (standard errors
    of the budgeted estimate, probability and log2 odds; 0 where exact), ``fallback`` (word
    indices scored by zero erasure), ``truncated_variants`` (wordpiece variants cut at
    ``max_len`` because a candidate has more pieces).
    """

    name = "marginal"
    label = "input marginalization"
    needs_likelihood = True
    param_help = {"likelihood": "the model proposing candidate words p(c | x_-i) (default: the shipped MLM)",
                  "sigma": "likelihood threshold: candidates below it are dropped (the paper's 1e-5)",
                  "top_n": "keep the top-n candidates instead of thresholding at sigma",
                  "oov": "drop or unk: candidates outside a word model's vocabulary",
                  "keep_candidates": "candidates per word reported in the details",
                  "budget": "auto, exact, or the most classifier passes per word (the rest of the likelihood "
                            "mass is estimated from a sample; auto: exact on word models, "
                            f"{DEFAULT_BUDGET} on transformers)"}

    def __init__(self, model: LoadedModel, likelihood: LikelihoodModel | None = None, sigma: float = 1e-5,
                 top_n: int | None = None, oov: str = "drop", keep_candidates: int = 5, budget: int | str = "auto",
                 batch_size: int | None = None, seed: int = 0):
        if not isinstance(likelihood, LikelihoodModel):
            raise ExplainError("input marginalization needs a likelihood model (a core.lm LikelihoodModel, e.g. "
                               f"core.lm.mlm.load_likelihood('mlm')), got {type(likelihood).__name__}")
        check_options(sigma, top_n, oov, keep_candidates)
        resolved = resolve_budget(budget, model)
        mode = "exact" if resolved is None else "budgeted"
        super().__init__(model, batch_size=batch_size, seed=seed, likelihood=likelihood.name, sigma=sigma,
                         top_n=top_n, oov=oov, keep_candidates=keep_candidates, unit="log2 odds",
                         budget="exact" if resolved is None else resolved, mode=mode)
        self.budget = resolved
        self.deterministic = resolved is None  # the budgeted mode samples: its record carries the seed
        self.likelihood = likelihood
        self.table = candidate_table(likelihood, model, oov)
        self._last_plan: tuple[tuple[str, ...], list] | None = None

    @classmethod
    def key_params(cls, model: LoadedModel, params: dict[str, Any], seed: int = 0) -> dict[str, Any]:
        """``params`` with the budget resolved for ``model``: the budget and the ``seed`` of its draws when
        budgeted; ``"exact"`` when exact on a model whose default is budgeted; absent when exact is the
        model's default (word models: their keys predate the budget). Building the explainer from the
        key gives the same mode."""
        key = super().key_params(model, {k: v for k, v in params.items() if k != "budget"}, seed)
        budget = resolve_budget(params.get("budget", "auto"), model)
        if budget is not None:
            key.update(budget=budget, seed=int(params.get("seed", seed)))
        elif resolve_budget("auto", model) is not None:
            key["budget"] = "exact"
        return key

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor) -> tuple[list[float], dict[str, Any]]:
        """Scores [n_words] in log2 odds (weight of evidence) and details (see class docstring)."""
        batch = features.batch
        plan = self.candidate_plan(list(batch.words[0]))
        rng = np.random.default_rng(self.seed)
        budgets = [budget_position(weights, self.budget, rng) for _, weights in plan]
        evaluated = [(idx[b.evaluated], weights[b.evaluated]) for (idx, weights), b in zip(plan, budgets)]
        cand_probs, n_truncated = self._candidate_probs(batch, evaluated, target)
        estimates = np.array([b.estimate(weights, cand_probs[i]) if len(weights) else (0.0, 0.0)
                              for i, (b, (_, weights)) in enumerate(zip(budgets, plan))]).reshape(-1, 2)
        p_without, p_se = estimates[:, 0], estimates[:, 1]
        empty = [i for i, (idx, _) in enumerate(plan) if len(idx) == 0]
        if empty:  # eq. 4 is undefined without candidates: zero erasure instead
            erased = zero_erasure_probs(self.model, batch, empty, target, self.batch_size)
            p_without[empty] = erased.double().cpu().numpy()
        scores, details = _finish(self.likelihood.vocabulary, float(probs[target]), p_without, evaluated, cand_probs,
                                  empty, self.params["keep_candidates"], [len(idx) for idx, _ in plan])
        return scores, {**details, "n_evaluated": [int(len(idx)) for idx, _ in evaluated],
                        "p_without_se": p_se.tolist(), "score_se": (p_se * log2_odds_slope(p_without)).tolist(),
                        "truncated_variants": n_truncated}

    def candidate_plan(self, words: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per word, (kept candidate indices [k], renormalised likelihoods [k]), most likely first.

        The last text's plan is kept, so :meth:`expected_passes` followed by :meth:`explain` on
        the same text calls the likelihood model once.
        """
        if self._last_plan is not None and self._last_plan[0] == tuple(words):
            return self._last_plan[1]
        rows = likelihood_rows(self.likelihood, words)
        plan = [select_candidates(rows[i], self.table.admissible, self.params["sigma"], self.params["top_n"])
                for i in range(len(words))]
        self._last_plan = (tuple(words), plan)
        return plan

    def expected_passes(self, features: WordFeatures) -> int:
        """Classifier passes of :meth:`explain`: per word its kept candidates, at most the budget, plus one."""
        cap = self.budget if self.budget is not None else np.inf
        plan = self.candidate_plan(list(features.batch.words[0]))
        return int(sum(min(len(idx), cap) for idx, _ in plan)) + 1

    def _candidate_probs(self, batch: EncodedBatch, plan, target: int) -> tuple[list[np.ndarray], int]:
        """Per word, [k_i] p(y | c, x_-i) for its kept candidates; and how many variants had to be truncated."""
        if self.table.ids is not None:
            flat, n_truncated = self._word_model_probs(batch, plan, target), 0
        else:
            flat, n_truncated = self._wordpiece_probs(batch, plan, target)
        sizes = np.cumsum([0] + [len(idx) for idx, _ in plan])
        return [flat[sizes[i]: sizes[i + 1]] for i in range(len(plan))], n_truncated

    def _word_model_probs(self, batch: EncodedBatch, plan, target: int) -> np.ndarray:
        """[sum k_i] probabilities: position i set to each candidate's id (each distinct variant classified once)."""
        positions = word_position_masks(batch).float().argmax(dim=1).cpu().numpy()  # one position per word
        pos = np.concatenate([np.full(len(idx), positions[i]) for i, (idx, _) in enumerate(plan)] or [np.zeros(0)])
        ids = np.concatenate([self.table.ids[idx] for idx, _ in plan] or [np.zeros(0)])
        if pos.size == 0:
            return np.zeros(0)
        # several candidates can map to the same classifier id (OOV words -> <unk> with oov="unk")
        keys, row_of = np.unique(pos.astype(np.int64) * (int(ids.max()) + 1) + ids.astype(np.int64),
                                 return_inverse=True)
        first = np.unique(row_of, return_index=True)[1]
        device = batch.input_ids.device
        logits = self.model.model.substitution_logits(
            batch.input_ids[:1], batch.attention_mask[:1], torch.as_tensor(pos[first], dtype=torch.long, device=device),
            torch.as_tensor(ids[first], dtype=torch.long, device=device), self.batch_size)
        probs = torch.softmax(logits, -1)[:, target].double().cpu().numpy()
        return probs[row_of]

    def _wordpiece_probs(self, batch: EncodedBatch, plan, target: int) -> tuple[np.ndarray, int]:
        """[sum k_i] probabilities of the wordpiece variants, and how many had to be cut at ``max_len``.

        Variants are sent shortest first, so a chunk holds rows of (nearly) one length and pays
        for little padding; the probabilities come back in the plan's order.
        """
        variants, n_truncated = self._wordpiece_variants(batch, plan)
        order = np.argsort([len(ids) for ids, _ in variants], kind="stable")
        out = np.zeros(len(variants))
        for start in range(0, len(variants), self.batch_size):
            heartbeat(start / len(variants))
            chunk = order[start: start + self.batch_size]
            out[chunk] = self._classify_rows([variants[r] for r in chunk], target)
        return out, n_truncated

    def _wordpiece_variants(self, batch: EncodedBatch, plan) -> tuple[list[tuple[list[int], list[int]]], int]:
        """(ids, word_ids) per variant, without padding: word i's pieces replaced by the candidate's pieces.

        A word's pieces depend only on the word and on whether it comes first (byte-level BPE
        marks a word after a space), so a variant equals the original ids with word i's span
        swapped for the candidate's pieces in that place
        (:meth:`~core.data.tokenizers.SubwordTokenizer.pieces_of`); each distinct candidate is
        tokenized once per kind of place. A variant longer than ``max_len``
        (a candidate with more pieces) is re-encoded with ``encode_words``,
        which drops the last whole words, and counted.
        """
        tokenizer, vocabulary, words = self.model.tokenizer, self.likelihood.vocabulary, list(batch.words[0])
        real = batch.attention_mask[0]
        ids, wids = batch.input_ids[0][real].tolist(), batch.word_ids[0][real].tolist()
        first = sorted({int(c) for c in plan[0][0]}) if plan else []
        later = sorted({int(c) for idx, _ in plan[1:] for c in idx})
        pieces = {(True, c): p for c, p in zip(first, tokenizer.pieces_of([vocabulary[c] for c in first], True))}
        pieces.update({(False, c): p for c, p in zip(later, tokenizer.pieces_of([vocabulary[c] for c in later],
                                                                                  False))})
        variants, n_truncated = [], 0
        for i, (idx, _) in enumerate(plan):
            start, end = wids.index(i), len(wids) - wids[::-1].index(i)
            for c in map(int, idx):
                swapped = pieces[i == 0, c]
                row = ids[:start] + swapped + ids[end:]
                if swapped and len(row) <= tokenizer.max_len:
                    variants.append((row, wids[:start] + [i] * len(swapped) + wids[end:]))
                    continue
                encoded = tokenizer.encode_words([words[:i] + [vocabulary[c]] + words[i + 1:]])
                keep = encoded.attention_mask[0]
                variants.append((encoded.input_ids[0][keep].tolist(), encoded.word_ids[0][keep].tolist()))
                n_truncated += int(encoded.truncated[0])
        return variants, n_truncated

    def _classify_rows(self, rows: list[tuple[list[int], list[int]]], target: int) -> np.ndarray:
        """[len(rows)] p(target) for unpadded (ids, word_ids) rows, padded and sent as one forward."""
        length = max(len(ids) for ids, _ in rows)
        input_ids = torch.full((len(rows), length), self.model.tokenizer.pad_id, dtype=torch.long)
        word_ids = torch.full((len(rows), length), -1, dtype=torch.long)
        attention = torch.zeros(len(rows), length, dtype=torch.bool)
        for r, (ids, wids) in enumerate(rows):
            input_ids[r, : len(ids)], word_ids[r, : len(ids)], attention[r, : len(ids)] = (
                torch.tensor(ids), torch.tensor(wids), True)
        device = self.model.device
        with torch.inference_mode():
            logits = self.model.model(input_ids.to(device), attention.to(device), (word_ids >= 0).to(device)).logits
        return torch.softmax(logits, -1)[:, target].double().cpu().numpy()


@torch.no_grad()
def marginalize_reference(model: LoadedModel, batch: EncodedBatch, target: int, likelihood: LikelihoodModel,
                          sigma: float = 1e-5, top_n: int | None = None, oov: str = "drop",
                          keep_candidates: int = 5) -> tuple[list[float], dict[str, Any]]:
    """The straightforward loop of Algorithm 1: one classifier forward per (position, candidate).

    Same options, scores ([n_words], log2 odds) and details as
    :class:`InputMarginalization`, for benchmarks and equality tests. Each
    variant is rebuilt as a word list and encoded on its own with
    ``tokenizer.encode_words`` (OOV words become ``<unk>`` there). The
    likelihood model is called once for all positions, as in the batched
    version, so that both compare the classifier side only.

    Args:
        batch: one encoded text (on the model's device).
        target: class to explain.
    """
    check_options(sigma, top_n, oov, keep_candidates)
    words = list(batch.words[0])
    p_full = float(torch.softmax(model.model.classify(batch).logits[0], -1)[target])
    table = candidate_table(likelihood, model, oov)
    rows = likelihood_rows(likelihood, words)
    plan, cand_probs, p_without, fallback = [], [], [], []
    for i in range(len(words)):
        idx, weights = select_candidates(rows[i], table.admissible, sigma, top_n)
        m, norm, probs = 0.0, 0.0, []
        for c in idx:
            variant = words[:i] + [likelihood.vocabulary[int(c)]] + words[i + 1:]
            encoded = model.tokenizer.encode_words([variant]).to(model.device)
            probs.append(float(torch.softmax(model.model.classify(encoded).logits[0], -1)[target]))
            m, norm = m + float(rows[i][c]) * probs[-1], norm + float(rows[i][c])
        if len(idx) == 0:
            fallback.append(i)
            m, norm = float(zero_erasure_probs(model, batch, [i], target, 1)[0]), 1.0
        plan.append((idx, weights))
        cand_probs.append(np.array(probs, dtype=np.float64))
        p_without.append(m / norm)
    return _finish(likelihood.vocabulary, p_full, np.array(p_without), plan, cand_probs, fallback, keep_candidates)
