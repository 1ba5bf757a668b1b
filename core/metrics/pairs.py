"""Faithfulness metrics on sentence pairs: a scorer over words of both texts.

A pair example's word list is ``[(side, word), ...]`` with side ``"a"`` or ``"b"``
(:meth:`core.explain.base.PairExplanation.tagged_words`), so AOPC, post-hoc
accuracy and the degradation test of :mod:`core.metrics.faithfulness` delete (or keep)
words from either text unchanged: the scorer rebuilds the two texts from what is left.

Two deletions (:data:`PAIR_OPERATIONS`):

- ``remove`` (default; the GMASK paper's words "removing top 1 .. u words"): the word is
  dropped and the rest of its text closes up;
- ``pad``: what the GMASK authors' released DAttn code does (``DeAttenModel.degra_predict``,
  ``DAttn_GMASK/deatten_model.py`` lines 184-192): the deleted word's id becomes the padding id
  (``data * mask_vec``; ``<pad>`` is id 0) while the text keeps its length (the lengths are taken
  before the deletion, and that model has no attention mask), so the pad embedding stays in
  place and is attended to and summed. Here every piece of the word gets the tokenizer's pad id
  (``<pad>`` = 0 for DAttn, ``[PAD]`` for wordpiece models) and the attention mask keeps those
  positions. For MaskLens's DAttn the ``<pad>`` row is the zero vector (as the authors' GloVe
  row for ``<pad>``), so ``pad`` equals zero-embedding erasure there; for MiniLM models the
  ``[PAD]`` row is a trained vector and position embeddings are still added. Deviation: the
  authors' BERT code ships no degradation test; MaskLens applies the same rule to wordpiece
  models.

The generic metrics run ``pad`` as their in-place deletion ``zero`` (:func:`metric_operation`):
it marks each deleted ``(side, word)`` item as a :class:`~core.metrics.perturbation.ZeroedItem`,
and the ``pad`` scorer reads those marks as padded words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from core.metrics.perturbation import ZeroedItem
from core.progress import heartbeat

if TYPE_CHECKING:
    from core.data.tokenizers import EncodedBatch
    from core.models.pair import LoadedPairModel

PAIR_OPERATIONS = ("remove", "pad")
_METRIC_OPERATION = {"remove": "remove", "pad": "zero"}


def split_tagged(tagged: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """``[(side, word), ...]`` -> (words of A, words of B), each in its original order."""
    return [w for side, w in tagged if side == "a"], [w for side, w in tagged if side == "b"]


def check_pair_operation(operation: str) -> str:
    """``operation`` if it is one of :data:`PAIR_OPERATIONS`, else ValueError."""
    if operation not in PAIR_OPERATIONS:
        raise ValueError(f"sentence-pair models delete words by {' or '.join(map(repr, PAIR_OPERATIONS))} only, "
                         f"not {operation!r}")
    return operation


def metric_operation(operation: str) -> str:
    """The :mod:`core.metrics.perturbation` operation that carries a pair deletion (``pad`` -> ``zero``)."""
    return _METRIC_OPERATION[check_pair_operation(operation)]


def untag(item) -> tuple[str, str, bool]:
    """``(side, word, deleted in place)`` of one tagged item: a ``(side, word)`` pair, or one marked
    :class:`~core.metrics.perturbation.ZeroedItem` by the in-place deletion."""
    side, word = item
    return side, word, isinstance(item, ZeroedItem)


def pair_scorer(model: "LoadedPairModel", batch_size: int = 256, operation: str = "remove"):
    """A :data:`core.metrics.perturbation.Scorer` over tagged word lists: probabilities [N, C] (float64).

    Under ``remove`` the lists hold the words that are left (:meth:`LoadedPairModel.predict_words`);
    under ``pad`` they also hold the marked words (run the metric with :func:`metric_operation`),
    scored with their pieces set to the pad id (see the module docstring).
    """
    check_pair_operation(operation)

    def score(word_lists: list[list[tuple[str, str]]]) -> np.ndarray:
        rows = [[untag(t) for t in tagged] for tagged in word_lists]
        if operation == "remove":
            if any(marked for row in rows for _, _, marked in row):
                raise ValueError("the 'remove' pair scorer got words deleted in place; build it with operation='pad'")
            return model.predict_words([split_tagged([(side, w) for side, w, _ in row]) for row in rows], batch_size)
        return padded_probabilities(model, rows, batch_size)

    return score


def pad_pieces(batch: "EncodedBatch", padded: Sequence[Sequence[int]], pad_id: int) -> "EncodedBatch":
    """``batch`` with every piece of the words ``padded[r]`` of row r set to ``pad_id``.

    The attention mask, word alignment and every other position are unchanged, so the pad
    pieces stay in place and are attended to.
    """
    import torch

    from core.data.tokenizers import EncodedBatch

    input_ids = batch.input_ids.clone()
    for row, words in enumerate(padded):
        if words:
            hit = torch.isin(batch.word_ids[row], torch.tensor(list(words), device=batch.word_ids.device))
            input_ids[row, hit] = pad_id
    return EncodedBatch(input_ids, batch.attention_mask, batch.word_ids, batch.words, batch.truncated)


def padded_probabilities(model: "LoadedPairModel", rows: Sequence[Sequence[tuple[str, str, bool]]],
                         batch_size: int = 256) -> np.ndarray:
    """Probabilities [N, C] (float64) of N pairs given as ``(side, word, padded)`` items, padded words in place."""
    import torch

    pad_id = model.tokenizer.pad_id
    if pad_id is None:
        raise ValueError(f"the tokenizer of {model.name or 'this model'} has no pad token: 'pad' does not apply")
    model.model.eval()
    chunks = []
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            heartbeat()
            part = rows[start: start + batch_size]
            texts_a, texts_b = [_one_side(row, "a") for row in part], [_one_side(row, "b") for row in part]
            a, b = model.encode_words([words for words, _ in texts_a], [words for words, _ in texts_b])
            a = pad_pieces(a, [padded for _, padded in texts_a], pad_id)
            b = pad_pieces(b, [padded for _, padded in texts_b], pad_id)
            chunks.append(torch.softmax(model.model.forward_pair(a, b).float(), -1).cpu().numpy())
    return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros((0, len(model.label_names)))


def _one_side(row: Sequence[tuple[str, str, bool]], side: str) -> tuple[list[str], list[int]]:
    """(the words of text ``side``, indices among them of the padded ones) from ``(side, word, padded)`` items."""
    items = [(word, marked) for s, word, marked in row if s == side]
    return [word for word, _ in items], [i for i, (_, marked) in enumerate(items) if marked]


def pair_examples(explanations: Sequence[dict]) -> list[tuple[list[tuple[str, str]], list[int]]]:
    """``(tagged words, ranking)`` from pair explanation dicts (``PairExplanation.to_dict()``)."""
    examples = []
    for e in explanations:
        n_a, scores = e["n_words_a"], e["scores"]
        tagged = [("a" if i < n_a else "b", w) for i, w in enumerate(e["words"])]
        examples.append((tagged, sorted(range(len(scores)), key=lambda i: (-scores[i], i))))
    return examples
