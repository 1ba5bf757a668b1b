"""Perturbations of a text for the faithfulness metrics, and the model side: word lists -> probabilities.

A text is a word list; deleting words is a word-list transform (:data:`OPERATIONS`):

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

A :data:`Scorer` maps word lists to class probabilities; :func:`model_scorer` builds one for a
loaded classifier. The metric arithmetic is in :mod:`core.metrics.faithfulness`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from core.progress import heartbeat

if TYPE_CHECKING:  # the word-list transforms need neither torch nor a model
    from core.lm.base import LikelihoodModel
    from core.models.factory import LoadedModel

Scorer = Callable[[list[list[str]]], np.ndarray]
"""Class probabilities [N, C] (rows sum to 1) for N word lists; an empty list is a valid (empty) text.
A :class:`ZeroedWord` item is a word whose embedding must be read as zero (operation ``"zero"``)."""

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
                heartbeat()
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


def check_operation(operation: str, likelihood: "LikelihoodModel | None" = None) -> None:
    """ValueError unless ``operation`` is one of :data:`OPERATIONS` (``"mlm"`` with a ``likelihood`` model)."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; choose one of {', '.join(OPERATIONS)}")
    if operation == "mlm" and likelihood is None:
        raise ValueError("operation 'mlm' needs a likelihood model (e.g. core.lm.mlm.load_likelihood('mlm'))")


def _sampled_text(words: list[str], position: int, row: np.ndarray, likelihood: "LikelihoodModel",
                  rng: np.random.Generator) -> list[str]:
    """``words`` with ``words[position]`` replaced by a word drawn from ``row`` (the LM's distribution there)."""
    total = row.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError(f"the likelihood model gives no probability mass for position {position} of {words}")
    choice = int(rng.choice(len(row), p=row / total))
    return [likelihood.vocabulary[choice] if i == position else w for i, w in enumerate(words)]
