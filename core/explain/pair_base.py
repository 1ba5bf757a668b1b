"""The explanation contract for sentence-pair models.

A pair explainer is built once for a :class:`~core.models.pair.LoadedPairModel`
and answers ``explain(text_a, text_b, target=None) -> PairExplanation``. The
features are the words of both texts, A's first: ``words = words_a + words_b``
and ``scores`` has one score per word in that order (``n_words_a`` says where B
starts). Everything else follows :class:`core.explain.base.Explanation`, so the
metrics and the stores read pair explanations like single-text ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch

from core.data.text import split_words
from core.data.tokenizers import EncodedBatch
from core.explain.base import WORD_MODEL_BATCH_SIZE, ExplainError, Explanation, check_target, seeded_rng
from core.models.pair import LoadedPairModel, is_pair_model

DEFAULT_BATCH_SIZE = {"minilm-sim": 32}


@dataclass
class PairExplanation(Explanation):
    """An :class:`Explanation` of a pair prediction.

    Extra attributes:
        text_b: the second text as given (``text`` holds the first).
        n_words_a: how many of ``words`` (and ``scores``) belong to the first text.
        groups: GMASK only: word groups, most important first, each
            ``{"group": i, "importance": psi_i, "words": [{"side": "a"|"b", "index": j, "word": w,
            "prob": phi_j(i)}, ...]}`` (index within its own text).
    """

    text_b: str = ""
    n_words_a: int = 0
    groups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def words_a(self) -> list[str]:
        return self.words[: self.n_words_a]

    @property
    def words_b(self) -> list[str]:
        return self.words[self.n_words_a:]

    @property
    def scores_a(self) -> list[float]:
        return self.scores[: self.n_words_a]

    @property
    def scores_b(self) -> list[float]:
        return self.scores[self.n_words_a:]

    def tagged_words(self) -> list[tuple[str, str]]:
        """``[(side, word), ...]`` over both texts: the word list the pair metrics perturb."""
        return [("a" if i < self.n_words_a else "b", w) for i, w in enumerate(self.words)]


@dataclass
class PairCheck:
    """What a pair model will see of two texts: kept words per text, an error, and notes."""

    words_a: list[str]
    words_b: list[str]
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def check_pair(model: LoadedPairModel, text_a: str, text_b: str) -> PairCheck:
    """Check two texts for a pair model: either empty or only punctuation, no known word, too long, identical."""
    words = []
    for label, text in (("first", text_a), ("second", text_b)):
        if not isinstance(text, str) or not text.strip():
            return PairCheck([], [], error=f"The {label} text is empty: a pair model needs two texts.")
        split = split_words(text)
        if not split or all(w in {",", "!", "?", "(", ")"} for w in split):
            return PairCheck([], [], error=f"The {label} text has no words (only punctuation or symbols).")
        words.append(split)
    encoded = model.tokenizer.encode_words(words)
    kept = encoded.words
    check = PairCheck(kept[0], kept[1])
    vocab = getattr(model.tokenizer, "vocab", None)
    if vocab is not None:
        for label, ws in (("first", kept[0]), ("second", kept[1])):
            if not any(w in vocab for w in ws):
                check.error = (f"None of the words of the {label} text is in the vocabulary of "
                               f"{model.name or 'this model'} (trained on {model.config.get('dataset', '?')}).")
                return check
    for label, full, part in (("first", words[0], kept[0]), ("second", words[1], kept[1])):
        if len(part) < len(full):
            check.notes.append(f"The {label} text has {len(full)} words; the model reads only the first "
                               f"{len(part)}, so the explanation covers those.")
    if [w for w in words[0]] == [w for w in words[1]]:
        check.notes.append("The two texts are identical: every word has its twin in the other text, so "
                           "explanations split credit between the twins.")
    return check


class PairExplainer:
    """Base class of pair explainers. Subclasses set ``name`` and implement :meth:`attribute`.

    Args:
        model: a sentence-pair model (``ExplainError`` for a single-text model).
        batch_size: most variants per forward (512 for DAttn, 32 for MiniLM).
        seed: seed of stochastic methods (the caller's random state is left untouched).
        **params: method parameters, stored in every explanation.
    """

    name = "abstract"
    label = "abstract"  # what pages show for the method
    deterministic = True
    signed = True

    def __init__(self, model: LoadedPairModel, batch_size: int | None = None, seed: int = 0, **params: Any):
        if not is_pair_model(model):
            raise ExplainError(f"{model.name or 'this model'} reads one text; the {self.name} pair explainer needs "
                               "a sentence-pair model (see `python -m core.models list`, pair: true)")
        if batch_size is None:
            batch_size = DEFAULT_BATCH_SIZE.get(model.config.get("architecture"), WORD_MODEL_BATCH_SIZE)
        self.model, self.batch_size, self.seed, self.params = model, batch_size, seed, params

    def attribute(self, a: EncodedBatch, b: EncodedBatch, target: int, probs: torch.Tensor
                  ) -> tuple[list[float], dict[str, Any], list[dict[str, Any]]]:
        """Scores for the n_a + n_b words (A first), JSON-ready details, and groups (GMASK only)."""
        raise NotImplementedError

    def target_probs(self, a: EncodedBatch, b: EncodedBatch, keep: torch.Tensor, target: int) -> torch.Tensor:
        """[N] p(target) under N word-level keep vectors [N, n_a + n_b], in chunks of ``batch_size``."""
        chunks = [torch.softmax(self.model.word_keep_logits(a, b, keep[s: s + self.batch_size]), -1)[:, target]
                  for s in range(0, keep.shape[0], self.batch_size)]
        return torch.cat(chunks) if chunks else keep.new_zeros(0)

    def explain(self, text_a: str, text_b: str, target: int | None = None) -> PairExplanation:
        """Explain the pair model's prediction for (``text_a``, ``text_b``).

        Raises:
            ExplainError: an empty text, a text without words or known words, a bad target.
        """
        started = time.perf_counter()
        check = check_pair(self.model, text_a, text_b)
        if not check.ok:
            raise ExplainError(check.error)
        self.model.model.eval()
        a, b = self.model.encode_words([check.words_a], [check.words_b])
        with torch.no_grad():
            probs = torch.softmax(self.model.model.forward_pair(a, b)[0].float(), -1)
        predicted = int(probs.argmax())
        target = predicted if target is None else self._check_target(target)
        with seeded_rng(self.seed):
            scores, details, groups = self.attribute(a, b, target, probs)
        return PairExplanation(
            text=text_a, words=list(a.words[0]) + list(b.words[0]), scores=[float(s) for s in scores],
            method=self.name, target=target, target_name=self.model.label_names[target], probs=probs.cpu().tolist(),
            predicted=predicted, params=dict(self.params), seed=None if self.deterministic else self.seed,
            seconds=time.perf_counter() - started, model_name=self.model.name,
            truncated=bool(a.truncated[0] or b.truncated[0]), details=details, signed=self.signed,
            text_b=text_b, n_words_a=len(a.words[0]), groups=groups)

    def _check_target(self, target: int) -> int:
        return check_target(target, self.model.label_names)
