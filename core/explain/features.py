"""The words an explainer scores, for one text or a sentence pair, and the model's answer when some are dropped.

:func:`encode_features` checks and encodes the input once; a :class:`WordFeatures` then gives
p(target) under any number of word-level keep vectors ``keep [N, n_words]`` (1 keeps a word,
0 erases it; all pieces of a wordpiece word together; special tokens and padding are never
erased). A single-text model erases a word by setting its embedding(s) to zero (Li et al. 2016;
passed through ``forward_embeddings`` so a mask model's mask still applies) or to the unknown
token's embedding (``baseline="unk"``); a pair model through its own
:meth:`~core.models.pair.LoadedPairModel.word_keep_logits` (zero only). Values between 0 and 1
mix the word's embedding with the baseline's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from core.data.tokenizers import EncodedBatch
from core.explain.errors import ExplainError
from core.progress import heartbeat
from core.models.base import spread_keep

BASELINES = ("zero", "unk")
WORD_MODEL_BATCH_SIZE = 512  # for models whose architecture is not registered (e.g. a wrapped Hugging Face model)


def explain_batch_size(model: Any) -> int:
    """The default number of variants per forward for ``model``: its architecture spec's ``explain_batch_size``."""
    from core.models.architectures import ARCHITECTURE_SPECS

    spec = ARCHITECTURE_SPECS.get(model.config.get("architecture"))
    return spec.explain_batch_size if spec is not None else WORD_MODEL_BATCH_SIZE


def text_keep_logits(model: Any, batch: EncodedBatch, keep: torch.Tensor, baseline: str = "zero") -> torch.Tensor:
    """Logits [N, C] of a single-text model's one-row ``batch`` under N word keep vectors [N, n_words].

    Args:
        baseline: what an erased word's embedding becomes: ``"zero"`` or the unknown id's (``"unk"``).
    """
    keep = keep.to(batch.input_ids.device)
    embeddings = model.model.embed(batch.input_ids[:1])                          # [1, T, d]
    position_keep = spread_keep(keep, batch.word_ids[0]).unsqueeze(-1).to(embeddings.dtype)  # [N, T, 1]
    variants = embeddings * position_keep
    if baseline == "unk":
        unk = model.model.embed(torch.full_like(batch.input_ids[:1], model.tokenizer.unk_id))
        variants = variants + unk * (1 - position_keep)
    n = variants.shape[0]
    return model.model.forward_embeddings(variants, batch.attention_mask[:1].expand(n, -1),
                                          batch.token_mask[:1].expand(n, -1)).logits


@dataclass
class WordFeatures:
    """An encoded text (``batches = (batch,)``) or pair (``(a, b)``), one row each, on the model's device.

    Attributes:
        model: the loaded model.
        batches: the encoded text(s).
    """

    model: Any
    batches: tuple[EncodedBatch, ...]

    @property
    def pair(self) -> bool:
        return len(self.batches) == 2

    @property
    def batch(self) -> EncodedBatch:
        """The single text's batch (text-only explainers read it: ids, word ids, masks)."""
        return self.batches[0]

    @property
    def words(self) -> list[str]:
        """All explained words, the first text's first."""
        return [w for b in self.batches for w in b.words[0]]

    @property
    def n_words_a(self) -> int:
        """Words of the first (or only) text."""
        return len(self.batches[0].words[0])

    @property
    def n_words(self) -> int:
        return sum(len(b.words[0]) for b in self.batches)

    @property
    def truncated(self) -> bool:
        """True when a text was cut to the model's length limit."""
        return any(bool(b.truncated[0]) for b in self.batches)

    def probs(self) -> torch.Tensor:
        """[C] class probabilities of the full input."""
        if self.pair:
            return torch.softmax(self.model.model.forward_pair(*self.batches)[0].float(), -1)
        return torch.softmax(self.model.model.classify(self.batch).logits[0], -1)

    def keep_logits(self, keep: torch.Tensor, baseline: str = "zero") -> torch.Tensor:
        """Logits [N, C] under word keep vectors ``keep`` [N, n_words] (differentiable in ``keep``)."""
        if baseline not in BASELINES:
            raise ExplainError(f"baseline must be one of {', '.join(BASELINES)}, got {baseline!r}")
        heartbeat()
        if self.pair:
            if baseline != "zero":
                raise ExplainError("a sentence-pair model erases words with zero embeddings only (baseline='zero')")
            return self.model.word_keep_logits(*self.batches, keep)
        return text_keep_logits(self.model, self.batch, keep, baseline)

    def target_probs(self, keep: torch.Tensor, target: int, batch_size: int, baseline: str = "zero") -> torch.Tensor:
        """[N] p(target) under N word keep vectors [N, n_words], in chunks of ``batch_size`` rows."""
        chunks = [torch.softmax(self.keep_logits(keep[s: s + batch_size], baseline), -1)[:, target]
                  for s in range(0, keep.shape[0], batch_size)]
        return torch.cat(chunks) if chunks else keep.new_zeros(0)

    def distinct_target_probs(self, keep: torch.Tensor, target: int, batch_size: int,
                              baseline: str = "zero") -> tuple[torch.Tensor, int]:
        """As :meth:`target_probs`, evaluating each distinct keep vector once: ([N] p(target), evaluations).

        Sampled 0/1 keep vectors of a short text repeat (a 6-word text has only 64 of them), and
        the model is a deterministic function of the keep vector, so the repeats are read back
        instead of recomputed; ``evaluations`` is the number of distinct rows sent through the model.
        """
        distinct, inverse = torch.unique(keep, dim=0, return_inverse=True)
        if distinct.shape[0] == keep.shape[0]:
            return self.target_probs(keep, target, batch_size, baseline), keep.shape[0]
        return self.target_probs(distinct, target, batch_size, baseline)[inverse.to(keep.device)], distinct.shape[0]


def encode_features(model: Any, text: str, text_b: str | None = None) -> WordFeatures:
    """Check and encode the input of ``model``: one text, or two for a sentence-pair model.

    Raises:
        ExplainError: a text is empty, only punctuation or has no known word; the second text is
            missing for a pair model or given for a single-text one.
    """
    from core.explain.inputs import check_pair, check_text

    pair = bool(getattr(model, "pair", False) or model.config.get("pair", False))
    name = model.name or "this model"
    if pair:
        if text_b is None:
            raise ExplainError(f"{name} is a sentence-pair model: explain two texts (text and text_b; CLI: "
                               "--text-b; app: Sentence pairs page)")
        check = check_pair(model, text, text_b)
        if not check.ok:
            raise ExplainError(check.error)
        return WordFeatures(model, model.encode_words([check.words_a], [check.words_b]))
    if text_b is not None:
        raise ExplainError(f"a second text was given but {name} reads one text; give a sentence-pair model")
    check = check_text(model, text)
    if not check.ok:
        raise ExplainError(check.error)
    return WordFeatures(model, (model.encode([text]).to(model.device),))
