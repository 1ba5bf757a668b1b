"""Which class each word of a corpus is most associated with (smoothed log-odds ratio)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from core.data.text import split_words


def class_association(texts: Sequence[str], labels: Sequence[int | str], label_names: Sequence[str],
                      min_count: int = 1) -> pd.DataFrame:
    """Per word type of ``texts`` (``split_words``): its count per class and its most associated class.

    With c[w, k] the occurrences of word w in texts of class k, N_k = sum_w c[w, k] the tokens of
    class k, N = sum_k N_k, and V the number of word types, the add-one smoothed log-odds ratio of w
    for class k against all other classes is

        lo[w, k] = log((c[w, k] + 1) / (N_k + V)) - log((c[w, rest] + 1) / (N_rest + V)),

    with c[w, rest] = count(w) - c[w, k] and N_rest = N - N_k. The associated class is
    argmax_k lo[w, k] (first class on ties) and ``log_odds`` is that maximum.

    Args:
        texts: the corpus (e.g. a training split).
        labels: one label per text, a class index into ``label_names`` or a class name.
        label_names: the class names.
        min_count: drop words with fewer total occurrences (V still counts every word type).

    Returns:
        DataFrame with columns ``word``, ``count``, ``count: <class>`` for each class, ``class``,
        ``log_odds``; sorted by count (highest first), then word.

    Raises:
        ValueError: texts and labels differ in length, fewer than 2 classes, or an unknown label.
    """
    label_names = [str(n) for n in label_names]
    if len(texts) != len(labels):
        raise ValueError(f"texts ({len(texts)}) and labels ({len(labels)}) must have the same length")
    if len(label_names) < 2:
        raise ValueError("class association needs at least 2 classes")
    name_index = {n: i for i, n in enumerate(label_names)}
    vocab: dict[str, int] = {}
    word_ids: list[int] = []
    class_ids: list[int] = []
    for text, label in zip(texts, labels):
        if isinstance(label, str):
            if label not in name_index:
                raise ValueError(f"unknown label {label!r}; expected one of {label_names}")
            k = name_index[label]
        else:
            k = int(label)
            if not 0 <= k < len(label_names):
                raise ValueError(f"label index {k} is out of range for {len(label_names)} classes")
        words = split_words(text)
        word_ids.extend(vocab.setdefault(w, len(vocab)) for w in words)
        class_ids.extend([k] * len(words))
    n_classes, n_words = len(label_names), len(vocab)
    counts = np.zeros((n_words, n_classes), dtype=np.int64)
    if word_ids:
        np.add.at(counts, (np.asarray(word_ids), np.asarray(class_ids)), 1)
    total = counts.sum(axis=1, keepdims=True)
    n_k = counts.sum(axis=0, keepdims=True).astype(np.float64)
    n_rest = n_k.sum() - n_k
    log_odds = (np.log((counts + 1.0) / (n_k + n_words))
                - np.log((total - counts + 1.0) / (n_rest + n_words)))
    best = log_odds.argmax(axis=1) if n_words else np.zeros(0, dtype=np.int64)
    table = pd.DataFrame({"word": list(vocab), "count": total[:, 0]})
    for k, name in enumerate(label_names):
        table[f"count: {name}"] = counts[:, k]
    table["class"] = [label_names[k] for k in best]
    table["log_odds"] = log_odds[np.arange(n_words), best] if n_words else np.zeros(0)
    table = table[table["count"] >= min_count]
    return table.sort_values(["count", "word"], ascending=[False, True], kind="stable").reset_index(drop=True)
