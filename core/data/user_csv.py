"""A user's single-text CSV (columns text,label; optional split) turned into a :class:`DatasetSplits`.

The file is read and checked with the shared rules of :mod:`core.data.csv_input` (the same
ones :func:`core.data.pairs.load_pair_csv` uses for pair CSVs) and processed like the bundled
data (:mod:`core.data.splits`): rows without words are dropped, texts are de-duplicated on
their cleaned form (majority label wins; ties are dropped) so that no text is in two splits,
and splits are stratified by label and seeded.
"""

from __future__ import annotations

import math
import os
from typing import BinaryIO, Sequence

from core.data.csv_input import (DatasetError, check_classes, check_settings, check_split_column, decode,
                                 default_name, describe_source, parse_csv, read_source, select_columns)
from core.data.splits import DatasetSplits, deduplicate, make_splits, rows_to_splits, stratified_split
from core.data.text import clean_text, split_words

_MAX_LEN_RANGE = (10, 256)


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
            value (see :data:`core.data.csv_input.MISSING_LABELS`) is refused, never made a class.
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
    parts = rows_to_splits(row_ids, texts, labels, splits, label_names)
    if max_len is None:
        max_len = _default_max_len(texts)
    dataset_name = name or default_name(source)
    description = f"User CSV {where}: {len(texts)} texts, {len(label_names)} classes"
    return make_splits(dataset_name, label_names, parts, max_len, min_freq, description)


def _default_max_len(texts: Sequence[str]) -> int:
    """The 95th percentile of the texts' word counts, clipped to ``_MAX_LEN_RANGE``."""
    counts = sorted(len(split_words(t)) for t in texts)
    rank = max(math.ceil(0.95 * len(counts)) - 1, 0)
    low, high = _MAX_LEN_RANGE
    return min(max(counts[rank], low), high)
