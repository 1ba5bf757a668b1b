"""A small synthetic sentiment dataset for fast plumbing tests (real data tests use assets/data)."""

from __future__ import annotations

import random

from core.data.datasets import DatasetSplits, TextSplit

POSITIVE = ["great", "good", "wonderful", "superb"]
NEGATIVE = ["bad", "awful", "terrible", "boring"]
FILLER = "the a movie film plot was is it this story acting".split()


def _split(rng: random.Random, n: int, prefix: str) -> TextSplit:
    texts, labels = [], []
    for _ in range(n):
        label = rng.randint(0, 1)
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 12))]
        words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label else NEGATIVE))
        texts.append(" ".join(words))
        labels.append(label)
    return TextSplit(tuple(texts), tuple(labels), tuple(f"{prefix}{i}" for i in range(n)))


def toy_dataset(n_train: int = 400, n_eval: int = 100, seed: int = 0) -> DatasetSplits:
    """Texts of filler words plus one sentiment word that decides the label (neg=0, pos=1)."""
    rng = random.Random(seed)
    splits = [_split(rng, n_train, "tr"), _split(rng, n_eval, "dv"), _split(rng, n_eval, "te")]
    return DatasetSplits("toy", ("negative", "positive"), *splits, max_len=20, min_freq=1,
                         description="synthetic toy sentiment", fingerprint=f"toy-{seed}-{n_train}-{n_eval}")
