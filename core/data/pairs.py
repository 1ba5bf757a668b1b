"""Sentence-pair datasets: one derived from a bundled corpus, and user pair CSVs.

No NLI or paraphrase corpus is reachable offline, so MaskLens derives a pair
task with real labels from a bundled corpus:

``trec6-answer-type-pairs``: two TREC questions, labelled ``same type`` when
their (human-annotated) coarse answer types agree (ABBR, DESC, ENTY, HUM, LOC,
NUM) and ``different type`` otherwise. Pairs are drawn *within* each split of
the bundled ``trec6`` dataset, so no question is in two splits. Each split is
balanced: half the pairs share a type (partner drawn uniformly from the other
questions of that type), half do not (partner drawn uniformly from the other
types). Every question is the first text of one pair per round; ``rounds``
(2 for train, 1 for dev/test) rounds are drawn with ``random.Random(seed)``.
Sizes: train 8,604, dev 538, test 538 pairs.

A user pair CSV has columns ``text_a``, ``text_b`` and ``label`` (an optional
``split`` column with train/dev/test is honoured); :func:`load_pair_csv`
validates it with the same rules as single-text uploads.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO, Sequence

from core.data.csv_input import (SPLIT_NAMES, DatasetError, check_classes, check_labels, check_settings,
                                 check_split_column, decode, default_name, describe_source, parse_csv, read_source)
from core.data.bundled import load_dataset
from core.data.splits import stratified_split
from core.data.text import clean_text, split_words

TREC_PAIRS = "trec6-answer-type-pairs"
TREC_PAIR_LABELS = ("different type", "same type")
PAIR_DATASETS = (TREC_PAIRS,)


@dataclass(frozen=True)
class PairSplit:
    """One split of a pair dataset: parallel tuples of first texts, second texts, label indices and ids."""

    texts_a: tuple[str, ...]
    texts_b: tuple[str, ...]
    labels: tuple[int, ...]
    ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if not len(self.texts_a) == len(self.texts_b) == len(self.labels) == len(self.ids):
            raise DatasetError("pair split columns differ in length")

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class PairDataset:
    """A pair dataset: label names, three splits, a description and a fingerprint (sha256 of the content)."""

    name: str
    label_names: tuple[str, ...]
    train: PairSplit
    dev: PairSplit
    test: PairSplit
    description: str
    fingerprint: str

    def split(self, name: str) -> PairSplit:
        """The split called ``name`` (train, dev or test)."""
        if name not in SPLIT_NAMES:
            raise DatasetError(f"unknown split {name!r}; expected one of {', '.join(SPLIT_NAMES)}")
        return getattr(self, name)


def _fingerprint(name: str, label_names: Sequence[str], splits: Sequence[PairSplit]) -> str:
    digest = hashlib.sha256(json.dumps([name, list(label_names)]).encode("utf-8"))
    for split in splits:
        digest.update(json.dumps([split.ids, split.texts_a, split.texts_b, split.labels]).encode("utf-8"))
    return digest.hexdigest()


def answer_type_pairs(texts: Sequence[str], types: Sequence[int], ids: Sequence[str], rounds: int,
                      seed: int) -> PairSplit:
    """Balanced same/different answer-type pairs from one split of questions (see the module docstring).

    Args:
        texts, types, ids: the questions, their answer-type indices and ids.
        rounds: pairs per question (each question starts ``rounds`` pairs).
        seed: seed of ``random.Random``.

    Returns:
        A :class:`PairSplit` with label 1 (``same type``) for the first half of each
        round's coin flips and 0 otherwise; ids ``"<id_a>|<id_b>"``.
    """
    rng = random.Random(seed)
    by_type: dict[int, list[int]] = {}
    for index, kind in enumerate(types):
        by_type.setdefault(kind, []).append(index)
    a, b, labels, pair_ids = [], [], [], []
    for _ in range(rounds):
        order = list(range(len(texts)))
        rng.shuffle(order)
        for position, first in enumerate(order):
            same = position % 2 == 0
            pool = [i for i in by_type[types[first]] if i != first] if same else \
                [i for k, members in by_type.items() if k != types[first] for i in members]
            if not pool:
                continue
            second = rng.choice(pool)
            a.append(texts[first])
            b.append(texts[second])
            labels.append(int(same))
            pair_ids.append(f"{ids[first]}|{ids[second]}")
    return PairSplit(tuple(a), tuple(b), tuple(labels), tuple(pair_ids))


@lru_cache(maxsize=2)
def trec_answer_type_pairs(seed: int = 0) -> PairDataset:
    """The ``trec6-answer-type-pairs`` dataset (module docstring), derived from bundled ``trec6``."""
    trec = load_dataset("trec6")
    splits = [answer_type_pairs(part.texts, part.labels, part.ids, rounds, seed + offset)
              for offset, (part, rounds) in enumerate(((trec.train, 2), (trec.dev, 1), (trec.test, 1)))]
    description = ("TREC question pairs from bundled trec6 (within each split), labelled by whether the two "
                   "questions have the same coarse answer type; balanced")
    return PairDataset(TREC_PAIRS, TREC_PAIR_LABELS, *splits, description,
                       _fingerprint(TREC_PAIRS, TREC_PAIR_LABELS, splits))


def load_pair_dataset(name: str) -> PairDataset:
    """A pair dataset by name (only ``trec6-answer-type-pairs`` is derived from bundled data).

    Raises:
        DatasetError: unknown name.
    """
    if name == TREC_PAIRS:
        return trec_answer_type_pairs()
    raise DatasetError(f"unknown pair dataset {name!r}; available: {', '.join(PAIR_DATASETS)}")


def load_pair_csv(source: str | os.PathLike | BinaryIO, *, name: str | None = None, seed: int = 13,
                  dev_fraction: float = 0.1, test_fraction: float = 0.1) -> PairDataset:
    """Validate a user pair CSV (columns ``text_a``, ``text_b``, ``label``; optional ``split``) and split it.

    Rows where either text has no words are dropped; a (text_a, text_b) pair repeated
    (on cleaned texts) keeps its first row. Splits are stratified by label and seeded
    unless a ``split`` column is given.

    Raises:
        DatasetError: missing/empty/non-UTF-8 file, missing column, blank labels, a single
            class, fewer than 10 usable rows, bad split values.
    """
    where = describe_source(source)
    check_settings(dev_fraction, test_fraction, None, 1)
    header, records = parse_csv(decode(read_source(source, where), where), where)
    for column in ("text_a", "text_b", "label"):
        if column not in header:
            raise DatasetError(f"{where} has no column {column!r}; a pair CSV needs text_a, text_b and label "
                               f"(columns found: {', '.join(map(repr, header))})")
    col = {c: header.index(c) for c in header}
    check_labels([record[col["label"]].strip() for record in records], "label", where)  # NaN is no class
    rows, seen = [], set()
    for number, record in enumerate(records, start=2):
        text_a, text_b, label = (record[col[c]].strip() for c in ("text_a", "text_b", "label"))
        if not label:
            raise DatasetError(f"{where}: row {number} has an empty 'label'")
        key = (clean_text(text_a), clean_text(text_b))
        if not split_words(text_a) or not split_words(text_b) or key in seen:
            continue
        seen.add(key)
        split = record[col["split"]].strip().lower() if "split" in col else None
        rows.append((str(number - 1), text_a, text_b, label, split))
    if not rows:
        raise DatasetError(f"{where}: no row has words in both text_a and text_b")
    labels = [r[3] for r in rows]
    check_classes(labels, where)
    if "split" in col:
        split_of = check_split_column([r[4] for r in rows], where)
    else:
        split_of = stratified_split([f"{r[1]}\t{r[2]}" for r in rows], labels, seed, dev_fraction, test_fraction)
    label_names = tuple(sorted(set(labels)))
    parts = []
    for split_name in SPLIT_NAMES:
        members = [r for r, s in zip(rows, split_of) if s == split_name]
        parts.append(PairSplit(tuple(r[1] for r in members), tuple(r[2] for r in members),
                               tuple(label_names.index(r[3]) for r in members), tuple(r[0] for r in members)))
    dataset_name = name or default_name(source)  # the file's or the upload's stem
    return PairDataset(dataset_name, label_names, *parts, f"User pair CSV {where}: {len(rows)} pairs",
                       _fingerprint(dataset_name, label_names, parts))
