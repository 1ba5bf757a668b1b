"""Global word importance of a mask-trained model, stored in its checkpoint (``global_importance``)."""

from __future__ import annotations

from collections import Counter

import torch

from core.models.architectures import architecture_spec
from core.models.factory import LoadedModel


@torch.no_grad()
def global_importance(model: LoadedModel, train_words: list[list[str]], batch_size: int = 256) -> dict[str, list]:
    """Global word importance of a mask model: E[q(R|x)] (or IBA's lambda, L2X's score, E-VarM's gate alpha).

    For word models the mask depends only on the word's (frozen) embedding,
    so the score is computed once per vocabulary word. For wordpiece models
    it is the mean, over the training occurrences of a word, of the mean over
    its pieces (for E-VarM each occurrence's gate reads its own sentence).
    ``counts`` is the word's training-set frequency.

    Returns:
        ``{"words": [...], "scores": [...], "counts": [...]}``, sorted by score, highest first.
    """
    counts = Counter(word for words in train_words for word in words)
    model.model.eval()
    if architecture_spec(model.config["architecture"], pair=False).transformer:
        table = wordpiece_importance(model, train_words, batch_size)
    else:
        table = vocabulary_importance(model)
    ordered = sorted(table, key=lambda w: (-table[w], w))
    return {"words": ordered, "scores": [round(float(table[w]), 6) for w in ordered],
            "counts": [counts.get(w, 0) for w in ordered]}


@torch.no_grad()
def vocabulary_importance(model: LoadedModel) -> dict[str, float]:
    """Word -> the mask's importance of its embedding, for every vocabulary word but padding and unknown."""
    net = model.model
    vocab = model.config["model_config"]["vocab"]
    ids = torch.arange(2, len(vocab), device=model.device)
    scores = net.mask.token_importance(net.embed(ids)).cpu().tolist()
    return {vocab[i]: s for i, s in zip(ids.tolist(), scores)}


@torch.no_grad()
def wordpiece_importance(model: LoadedModel, train_words: list[list[str]], batch_size: int) -> dict[str, float]:
    """Word -> mean over its training occurrences of the mean importance of its word pieces."""
    sums: Counter = Counter()
    seen: Counter = Counter()
    net = model.model
    for start in range(0, len(train_words), batch_size):
        batch = model.tokenizer.encode_words(train_words[start: start + batch_size]).to(model.device)
        piece_scores = net.token_importance(batch.input_ids, batch.attention_mask, batch.token_mask).cpu()
        word_ids = batch.word_ids.cpu()
        for row, words in enumerate(batch.words):
            for index, word in enumerate(words):
                sums[word] += float(piece_scores[row][word_ids[row] == index].mean())
                seen[word] += 1
    return {word: sums[word] / seen[word] for word in sums}
