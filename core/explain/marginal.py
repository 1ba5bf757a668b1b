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

OOV_RULES = ("drop", "unk")


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
            cand_probs: list[np.ndarray], fallback: list[int],
            keep_candidates: int) -> tuple[list[float], dict[str, Any]]:
    """Eq. 1 per word (log2 odds) and JSON details, from p(y | x_-i) [n_words] and the kept candidates."""
    scores = log2_odds(p_full) - log2_odds(p_without)
    details = {
        "candidates": [[{"word": vocabulary[int(c)], "likelihood": float(w), "prob": float(p)}
                        for c, w, p in list(zip(idx, weights, cand_probs[i]))[:keep_candidates]]
                       for i, (idx, weights) in enumerate(plan)],
        "n_candidates": [int(len(idx)) for idx, _ in plan],
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
        batch_size: most variants per forward.

    Details: ``candidates`` (per word, the top ``keep_candidates`` as
    ``{"word", "likelihood" (renormalised), "prob" (p(y | c, x_-i))}``),
    ``n_candidates`` (per word), ``p_without`` (p(y | x_-i) per word),
    ``fallback`` (word indices scored by zero erasure), ``truncated_variants``
    (wordpiece variants cut at ``max_len`` because a candidate has more pieces).
    """

    name = "marginal"
    label = "input marginalization"
    needs_likelihood = True
    param_help = {"likelihood": "the model proposing candidate words p(c | x_-i) (default: the shipped MLM)",
                  "sigma": "likelihood threshold: candidates below it are dropped (the paper's 1e-5)",
                  "top_n": "keep the top-n candidates instead of thresholding at sigma",
                  "oov": "drop or unk: candidates outside a word model's vocabulary",
                  "keep_candidates": "candidates per word reported in the details"}

    def __init__(self, model: LoadedModel, likelihood: LikelihoodModel | None = None, sigma: float = 1e-5,
                 top_n: int | None = None, oov: str = "drop", keep_candidates: int = 5, batch_size: int | None = None,
                 seed: int = 0):
        if not isinstance(likelihood, LikelihoodModel):
            raise ExplainError("input marginalization needs a likelihood model (a core.lm LikelihoodModel, e.g. "
                               f"core.lm.mlm.load_likelihood('mlm')), got {type(likelihood).__name__}")
        check_options(sigma, top_n, oov, keep_candidates)
        super().__init__(model, batch_size=batch_size, seed=seed, likelihood=likelihood.name, sigma=sigma,
                         top_n=top_n, oov=oov, keep_candidates=keep_candidates, unit="log2 odds")
        self.likelihood = likelihood
        self.table = candidate_table(likelihood, model, oov)

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor) -> tuple[list[float], dict[str, Any]]:
        """Scores [n_words] in log2 odds (weight of evidence) and details (see class docstring)."""
        batch = features.batch
        words = list(batch.words[0])
        rows = likelihood_rows(self.likelihood, words)
        plan = [select_candidates(rows[i], self.table.admissible, self.params["sigma"], self.params["top_n"])
                for i in range(len(words))]
        cand_probs, n_truncated = self._candidate_probs(batch, plan, target)
        p_without = np.array([float(np.dot(weights, cand_probs[i])) for i, (_, weights) in enumerate(plan)])
        empty = [i for i, (idx, _) in enumerate(plan) if len(idx) == 0]
        if empty:  # eq. 4 is undefined without candidates: zero erasure instead
            erased = zero_erasure_probs(self.model, batch, empty, target, self.batch_size)
            p_without[empty] = erased.double().cpu().numpy()
        scores, details = _finish(self.likelihood.vocabulary, float(probs[target]), p_without, plan, cand_probs,
                                  empty, self.params["keep_candidates"])
        return scores, {**details, "truncated_variants": n_truncated}

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
        """[sum k_i] probabilities of the wordpiece variants, and how many had to be cut at ``max_len``."""
        variants, n_truncated = self._wordpiece_variants(batch, plan)
        out = [self._classify_rows(variants[start: start + self.batch_size], target)
               for start in range(0, len(variants), self.batch_size)]
        return (np.concatenate(out) if out else np.zeros(0)), n_truncated

    def _wordpiece_variants(self, batch: EncodedBatch, plan) -> tuple[list[tuple[list[int], list[int]]], int]:
        """(ids, word_ids) per variant, without padding: word i's pieces replaced by the candidate's pieces.

        ``encode_words`` tokenizes every word on its own, so a variant equals the
        original ids with word i's span swapped for the candidate's pieces; each
        distinct candidate is tokenized once. A variant longer than ``max_len``
        (a candidate with more pieces) is re-encoded with ``encode_words``,
        which drops the last whole words, and counted.
        """
        tokenizer, vocabulary, words = self.model.tokenizer, self.likelihood.vocabulary, list(batch.words[0])
        real = batch.attention_mask[0]
        ids, wids = batch.input_ids[0][real].tolist(), batch.word_ids[0][real].tolist()
        distinct = sorted({int(c) for idx, _ in plan for c in idx})
        alone = tokenizer.encode_words([[vocabulary[c]] for c in distinct])
        pieces = {c: alone.input_ids[r][alone.word_ids[r] == 0].tolist() for r, c in enumerate(distinct)}
        variants, n_truncated = [], 0
        for i, (idx, _) in enumerate(plan):
            start, end = wids.index(i), len(wids) - wids[::-1].index(i)
            for c in map(int, idx):
                row = ids[:start] + pieces[c] + ids[end:]
                if pieces[c] and len(row) <= tokenizer.max_len:
                    variants.append((row, wids[:start] + [i] * len(pieces[c]) + wids[end:]))
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
