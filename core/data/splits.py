"""Train/dev/test splits: the :class:`DatasetSplits` every model trains on, and the splitting rules.

Bundled datasets (:mod:`core.data.bundled`) and user CSVs (:mod:`core.data.user_csv`) both
end up here: rows are de-duplicated on their cleaned text (:func:`deduplicate`), assigned to
splits stratified by label with a seeded hash order (:func:`stratified_split`), grouped into
:class:`TextSplit` objects (:func:`rows_to_splits`) and stamped with a content fingerprint
(:func:`make_splits`). Checkpoints record that fingerprint, so these rules must not change.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

from core.data.csv_input import SPLIT_NAMES, DatasetError
from core.data.text import clean_text


@dataclass(frozen=True)
class TextSplit:
    """One split of a dataset.

    Attributes:
        texts: original texts, one per example.
        labels: label indices into :attr:`DatasetSplits.label_names`.
        ids: example ids (strings, unique within the dataset).
    """

    texts: tuple[str, ...]
    labels: tuple[int, ...]
    ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if not len(self.texts) == len(self.labels) == len(self.ids):
            raise DatasetError(
                f"split columns differ in length: {len(self.texts)} texts, "
                f"{len(self.labels)} labels, {len(self.ids)} ids"
            )

    def __len__(self) -> int:
        """Number of examples."""
        return len(self.texts)


@dataclass(frozen=True)
class DatasetSplits:
    """A dataset ready for training: label names, three splits and settings.

    Attributes:
        name: dataset name (a bundled name, or the upload's name).
        label_names: class names; a label index ``i`` means ``label_names[i]``.
        train, dev, test: the splits (no cleaned text is in two of them).
        max_len: words a model pads/truncates each text to.
        min_freq: minimum training-set count for a word to enter a vocabulary.
        description: one-line human description.
        fingerprint: sha256 hex over the name, label names and every split's
            ids, texts and labels; equal data gives an equal fingerprint.
    """

    name: str
    label_names: tuple[str, ...]
    train: TextSplit
    dev: TextSplit
    test: TextSplit
    max_len: int
    min_freq: int
    description: str
    fingerprint: str

    def split(self, name: str) -> TextSplit:
        """Return the split called ``name`` (``"train"``, ``"dev"`` or ``"test"``).

        Raises:
            DatasetError: for any other name.
        """
        if name not in SPLIT_NAMES:
            raise DatasetError(f"unknown split {name!r}; expected one of {', '.join(SPLIT_NAMES)}")
        return getattr(self, name)

    def subset(self, max_train: int | None = None, max_eval: int | None = None, seed: int = 0) -> "DatasetSplits":
        """Return a smaller copy: at most ``max_train`` training and ``max_eval`` dev/test examples each.

        Examples are drawn by a seeded hash order (not stratified) and keep
        their original order. ``None`` keeps a split whole. The fingerprint is
        recomputed.

        Raises:
            DatasetError: when a limit is not a positive integer.
        """
        train = _sample_split(self.train, max_train, seed, "max_train")
        dev = _sample_split(self.dev, max_eval, seed, "max_eval")
        test = _sample_split(self.test, max_eval, seed, "max_eval")
        return make_splits(self.name, self.label_names, (train, dev, test),
                           self.max_len, self.min_freq, self.description)


# --------------------------------------------------------------------------- splitting rules


def deduplicate(texts: Sequence[str], labels: Sequence[str]) -> list[int]:
    """Pick one row per cleaned text; used for bundled data and uploads alike.

    Rows are grouped by ``clean_text(text)``. A group keeps its majority label
    and, of the rows with that label, the first one; a group whose labels tie
    is dropped entirely.

    Args:
        texts: ``n`` original texts, one per row.
        labels: ``n`` labels (strings), parallel to ``texts``.

    Returns:
        Indices (into the ``n`` rows) of the kept rows, in increasing order.
    """
    groups: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        groups.setdefault(clean_text(text), []).append(index)
    kept = []
    for members in groups.values():
        counts = Counter(labels[i] for i in members).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            continue
        kept.append(next(i for i in members if labels[i] == counts[0][0]))
    return sorted(kept)


def stratified_split(keys: Sequence[str], labels: Sequence[str], seed: int = 13,
                     dev_fraction: float = 0.1, test_fraction: float = 0.1) -> list[str]:
    """Assign every row to ``"train"``, ``"dev"`` or ``"test"``, stratified by label.

    Within each label, rows are ordered by ``sha256(f"{seed}:{key}")`` (so the
    result depends on neither row order nor the Python version); the first
    ``round(n * test_fraction)`` rows go to test, the next
    ``round(n * dev_fraction)`` to dev, the rest to train. A label with at least
    2 rows gets at least 1 test row, with at least 3 rows also 1 dev row (unless
    that fraction is 0); train always keeps at least 1.

    Args:
        keys: one unique string per row (the cleaned text); ``n`` rows.
        labels: one label per row (``n``).
        seed: seed of the hash order.
        dev_fraction, test_fraction: fractions (0..1) of each label's rows for dev and test.

    Returns:
        A list of ``n`` split names, one per row.
    """
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    result = ["train"] * len(keys)
    for members in by_label.values():
        members.sort(key=lambda i: _hash_order(seed, keys[i]))
        n_test, n_dev = _eval_sizes(len(members), dev_fraction, test_fraction)
        for i in members[:n_test]:
            result[i] = "test"
        for i in members[n_test:n_test + n_dev]:
            result[i] = "dev"
    return result


def _eval_sizes(n: int, dev_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Test and dev sizes for a label with ``n`` rows (see :func:`stratified_split`)."""
    n_test = math.floor(n * test_fraction + 0.5)
    n_dev = math.floor(n * dev_fraction + 0.5)
    if n >= 2 and test_fraction > 0:
        n_test = max(n_test, 1)
    if n >= 3 and dev_fraction > 0:
        n_dev = max(n_dev, 1)
    n_test = min(n_test, max(n - 1, 0))
    n_dev = min(n_dev, max(n - 1 - n_test, 0))
    return n_test, n_dev


def _hash_order(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- building DatasetSplits


def _fingerprint(name: str, label_names: Sequence[str], splits: Iterable[TextSplit]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([name, list(label_names)], ensure_ascii=False).encode("utf-8"))
    for split in splits:
        payload = [list(split.ids), list(split.texts), list(split.labels)]
        digest.update(json.dumps(payload, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def make_splits(name: str, label_names: Sequence[str], splits: Sequence[TextSplit],
                max_len: int, min_freq: int, description: str) -> DatasetSplits:
    """Assemble a :class:`DatasetSplits` and compute its fingerprint.

    Args:
        name: dataset name.
        label_names: ``k`` class names; the splits' labels index them.
        splits: the three splits, in the order train, dev, test.
        max_len: words per text for models.
        min_freq: minimum training count for a word to enter a vocabulary.
        description: one-line human description (not part of the fingerprint).

    Returns:
        The :class:`DatasetSplits`; its fingerprint is the sha256 hex of the name,
        label names and every split's ids, texts and labels.
    """
    train, dev, test = splits
    return DatasetSplits(
        name=name, label_names=tuple(label_names), train=train, dev=dev, test=test,
        max_len=int(max_len), min_freq=int(min_freq), description=description,
        fingerprint=_fingerprint(name, label_names, splits),
    )


def rows_to_splits(ids: Sequence[str], texts: Sequence[str], labels: Sequence[str],
                   split_of: Sequence[str], label_names: Sequence[str]) -> list[TextSplit]:
    """Group parallel row lists into train/dev/test :class:`TextSplit` objects.

    Args:
        ids, texts, labels, split_of: ``n`` parallel rows: id, original text, label
            (a string in ``label_names``) and split name (train/dev/test).
        label_names: ``k`` class names; a label becomes its index here.

    Returns:
        Three :class:`TextSplit` objects (train, dev, test), each keeping the rows' order.
    """
    index_of = {label: i for i, label in enumerate(label_names)}
    parts: dict[str, tuple[list, list, list]] = {s: ([], [], []) for s in SPLIT_NAMES}
    for row_id, text, label, split in zip(ids, texts, labels, split_of):
        bucket = parts[split]
        bucket[0].append(text)
        bucket[1].append(index_of[label])
        bucket[2].append(row_id)
    return [TextSplit(tuple(t), tuple(l), tuple(i)) for t, l, i in (parts[s] for s in SPLIT_NAMES)]


def _sample_split(split: TextSplit, limit: int | None, seed: int, what: str) -> TextSplit:
    if limit is None:
        return split
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise DatasetError(f"{what} must be a positive integer or None, got {limit!r}")
    if limit >= len(split):
        return split
    order = sorted(range(len(split)), key=lambda i: _hash_order(seed, split.ids[i]))
    keep = sorted(order[:limit])
    return TextSplit(tuple(split.texts[i] for i in keep), tuple(split.labels[i] for i in keep),
                     tuple(split.ids[i] for i in keep))
