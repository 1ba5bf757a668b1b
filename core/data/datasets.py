"""Bundled text-classification datasets and user CSV uploads.

Every dataset reaches the models as a :class:`DatasetSplits`: the original
texts (models clean them at load time with :func:`core.data.text.clean_text`),
label indices into ``label_names`` and fixed train/dev/test splits.

Bundled datasets live in ``core.paths.DATA_DIR`` as ``<name>.csv.gz`` with
columns ``id,text,label,split`` and are described by ``manifest.json`` there
(rebuilt by ``scripts/build_datasets.py``). A user CSV is validated, cleaned
and split by :func:`load_user_csv` with the same rules as the bundled data:
rows without words are dropped, texts are de-duplicated on their cleaned form
(majority label wins; ties are dropped) so that no text is in two splits, and
splits are stratified by label and seeded.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import os
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Iterable, Sequence

from core import paths
from core.data.csv_input import (MIN_ROWS, MISSING_LABELS, SPLIT_NAMES, DatasetError,  # noqa: F401
                                 check_classes, check_settings, check_split_column, decode,
                                 default_name, describe_source, parse_csv, read_source, select_columns)
from core.data.text import clean_text, split_words

__all__ = [
    "DatasetError",
    "TextSplit",
    "DatasetSplits",
    "list_datasets",
    "dataset_info",
    "load_dataset",
    "load_user_csv",
]

MANIFEST_NAME = "manifest.json"
_MAX_LEN_RANGE = (10, 256)


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
        return _make_splits(self.name, self.label_names, (train, dev, test),
                            self.max_len, self.min_freq, self.description)


# --------------------------------------------------------------------------- shared processing rules


def deduplicate(texts: Sequence[str], labels: Sequence[str]) -> list[int]:
    """Pick one row per cleaned text; used for bundled data and uploads alike.

    Rows are grouped by ``clean_text(text)``. A group keeps its majority label
    and, of the rows with that label, the first one; a group whose labels tie
    is dropped entirely.

    Returns:
        Indices of the kept rows, in increasing order.
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
        keys: one unique string per row (the cleaned text).
        labels: one label per row.

    Returns:
        A list of split names, one per row.
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


def _make_splits(name: str, label_names: Sequence[str], splits: Sequence[TextSplit],
                 max_len: int, min_freq: int, description: str) -> DatasetSplits:
    train, dev, test = splits
    return DatasetSplits(
        name=name, label_names=tuple(label_names), train=train, dev=dev, test=test,
        max_len=int(max_len), min_freq=int(min_freq), description=description,
        fingerprint=_fingerprint(name, label_names, splits),
    )


def _rows_to_splits(ids: Sequence[str], texts: Sequence[str], labels: Sequence[str],
                    split_of: Sequence[str], label_names: Sequence[str]) -> list[TextSplit]:
    """Group parallel row lists into train/dev/test :class:`TextSplit` objects."""
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


# --------------------------------------------------------------------------- bundled datasets


def _manifest_path() -> Path:
    return Path(paths.DATA_DIR) / MANIFEST_NAME


def _read_manifest() -> dict:
    path = _manifest_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DatasetError(f"dataset manifest {path} is missing; run scripts/build_datasets.py") from None
    return _parse_manifest(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _parse_manifest(path: str, mtime_ns: int, size: int) -> dict:
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read dataset manifest {path}: {exc}") from exc
    if not isinstance(manifest.get("datasets"), dict):
        raise DatasetError(f"dataset manifest {path} has no 'datasets' object")
    return manifest


def list_datasets() -> list[str]:
    """Return the names of the bundled datasets, in manifest order.

    Raises:
        DatasetError: when the manifest is missing or unreadable.
    """
    return list(_read_manifest()["datasets"])


def dataset_info(name: str) -> dict:
    """Return a copy of the manifest entry of bundled dataset ``name``.

    The entry holds ``label_names``, ``task``, ``max_len``, ``min_freq``,
    ``counts``, ``label_counts``, ``mean_words``, ``source``, ``license``,
    ``description``, ``file`` and ``sha256``.

    Raises:
        DatasetError: for an unknown name (the message lists the available ones).
    """
    datasets = _read_manifest()["datasets"]
    if name not in datasets:
        raise DatasetError(f"unknown dataset {name!r}; available: {', '.join(datasets) or '(none)'}")
    return json.loads(json.dumps(datasets[name]))


def load_dataset(name: str) -> DatasetSplits:
    """Load bundled dataset ``name`` with its fixed train/dev/test splits.

    The file's sha256 is checked against the manifest; results are cached
    in-process (keyed on the file's path, size and modification time).

    Returns:
        A :class:`DatasetSplits`; labels index ``label_names`` from the manifest.

    Raises:
        DatasetError: unknown name, missing file, sha256 mismatch (naming the
            file) or malformed rows.
    """
    info = dataset_info(name)
    path = Path(paths.DATA_DIR) / info["file"]
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DatasetError(f"dataset file {path} is missing; run scripts/build_datasets.py") from None
    return _load_bundled(name, str(path), stat.st_mtime_ns, stat.st_size, json.dumps(info, sort_keys=True))


@lru_cache(maxsize=16)
def _load_bundled(name: str, path: str, mtime_ns: int, size: int, info_json: str) -> DatasetSplits:
    info = json.loads(info_json)
    data = Path(path).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != info["sha256"]:
        raise DatasetError(
            f"dataset file {path} is corrupt or was changed: sha256 {actual} does not match "
            f"{info['sha256']} in {MANIFEST_NAME}; rebuild with scripts/build_datasets.py"
        )
    rows = _read_bundled_rows(gzip.decompress(data).decode("utf-8"), path)
    label_names = tuple(info["label_names"])
    bad = sorted({r["label"] for r in rows} - set(label_names))
    if bad:
        raise DatasetError(f"dataset file {path} has labels {bad} not in the manifest's {list(label_names)}")
    splits = _rows_to_splits([r["id"] for r in rows], [r["text"] for r in rows],
                             [r["label"] for r in rows], [r["split"] for r in rows], label_names)
    return _make_splits(name, label_names, splits, info["max_len"], info["min_freq"], info["description"])


def _read_bundled_rows(text: str, path: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = {"id", "text", "label", "split"} - set(reader.fieldnames or [])
    if missing:
        raise DatasetError(f"dataset file {path} lacks columns {sorted(missing)}")
    rows = list(reader)
    bad = [r["split"] for r in rows if r["split"] not in SPLIT_NAMES]
    if bad:
        raise DatasetError(f"dataset file {path} has unknown split values {sorted(set(bad))}")
    return rows


# --------------------------------------------------------------------------- user CSV


def load_user_csv(source: str | os.PathLike | BinaryIO, *, name: str | None = None,
                  text_column: str = "text", label_column: str = "label", seed: int = 13,
                  dev_fraction: float = 0.1, test_fraction: float = 0.1,
                  max_len: int | None = None, min_freq: int = 1) -> DatasetSplits:
    """Validate a user's CSV and turn it into train/dev/test splits.

    Args:
        source: a path (str/Path) or a binary file-like object (e.g. a
            Streamlit upload / ``io.BytesIO``) holding UTF-8 CSV (a BOM is fine).
        name: dataset name; default the file's stem, or ``"uploaded"``.
        text_column, label_column: column names holding texts and labels.
            Labels may be strings or integers; ``label_names`` are the distinct
            labels sorted as strings. A blank label or one spelled as a missing
            value (see :data:`MISSING_LABELS`) is refused, never made a class.
        seed, dev_fraction, test_fraction: split settings (stratified by label).
            An optional ``split`` column with values train/dev/test is honoured instead.
        max_len: words per text for models; default the 95th percentile of
            word counts clipped to [10, 256].
        min_freq: minimum training count for a word to enter a vocabulary.

    Returns:
        A :class:`DatasetSplits`; ids are 1-based data-row numbers. Rows whose
        text has no words are dropped; duplicate cleaned texts are merged
        (majority label; ties dropped), so no text is in two splits.

    Raises:
        DatasetError: missing file, empty file, header without rows, not UTF-8,
            unparseable CSV, a column name used twice in the header, missing
            column, blank labels or missing-value labels (``NaN``, ``null``,
            ``None``, ``NA``, ``n/a``, ``<NA>``, any case), no usable texts,
            a single class, fewer than 10 usable rows, a class with fewer
            than 2 examples, bad split values or bad settings.
    """
    where = describe_source(source)
    check_settings(dev_fraction, test_fraction, max_len, min_freq)
    header, records = parse_csv(decode(read_source(source, where), where), where)
    texts, labels, splits = select_columns(header, records, text_column, label_column, where)
    row_ids = [str(i + 1) for i in range(len(texts))]
    keep = [i for i, t in enumerate(texts) if split_words(t)]
    if not keep:
        raise DatasetError(f"{where}: no row of column {text_column!r} contains any words")
    keep = [keep[i] for i in deduplicate([texts[i] for i in keep], [labels[i] for i in keep])]
    texts, labels, row_ids = [texts[i] for i in keep], [labels[i] for i in keep], [row_ids[i] for i in keep]
    check_classes(labels, where)
    if splits is None:
        splits = stratified_split([clean_text(t) for t in texts], labels, seed, dev_fraction, test_fraction)
    else:
        splits = check_split_column([splits[i] for i in keep], where)
    label_names = sorted(set(labels))
    parts = _rows_to_splits(row_ids, texts, labels, splits, label_names)
    if max_len is None:
        max_len = _default_max_len(texts)
    dataset_name = name or default_name(source)
    description = f"User CSV {where}: {len(texts)} texts, {len(label_names)} classes"
    return _make_splits(dataset_name, label_names, parts, max_len, min_freq, description)


def _default_max_len(texts: Sequence[str]) -> int:
    counts = sorted(len(split_words(t)) for t in texts)
    rank = max(math.ceil(0.95 * len(counts)) - 1, 0)
    low, high = _MAX_LEN_RANGE
    return min(max(counts[rank], low), high)
