"""Reading and checking a user's CSV: the rules shared by single-text datasets and sentence-pair tasks.

:func:`core.data.user_csv.load_user_csv` (text,label; re-exported by :mod:`core.data.datasets`)
and :func:`core.data.pairs.load_pair_csv` (text_a,text_b,label) both read their files through
these functions, so a CSV is decoded, parsed and checked the same way whichever loader reads it.
Every check raises :class:`DatasetError` with a message naming the source (``where``).
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from pathlib import Path
from typing import Sequence

SPLIT_NAMES = ("train", "dev", "test")
MIN_ROWS = 10
# Spellings spreadsheets and pandas write for an absent value (compared case-insensitively
# after stripping); a label like this is almost always a missing label, not a class.
MISSING_LABELS = frozenset({"nan", "null", "none", "na", "n/a", "<na>"})


class DatasetError(ValueError):
    """Bad dataset input; the message says what is wrong and where."""


def describe_source(source) -> str:
    """``"file <path>"`` for a path, ``"upload <name>"`` for a file object: the ``where`` of every message."""
    if isinstance(source, (str, os.PathLike)):
        return f"file {os.fspath(source)}"
    return f"upload {getattr(source, 'name', None) or '(unnamed)'}"


def default_name(source) -> str:
    """A dataset name for ``source``: the path's or the upload's file stem, else ``"uploaded"``."""
    if isinstance(source, (str, os.PathLike)):
        return Path(os.fspath(source)).stem
    upload_name = getattr(source, "name", None)
    return Path(upload_name).stem if isinstance(upload_name, str) and upload_name else "uploaded"


def check_settings(dev_fraction: float, test_fraction: float, max_len: int | None, min_freq: int) -> None:
    """Refuse bad split settings.

    Args:
        dev_fraction, test_fraction: fractions of the rows, each strictly between 0 and 1, summing below 1.
        max_len: words per text, a positive integer or ``None``.
        min_freq: a positive integer (training count).

    Raises:
        DatasetError: naming the bad setting and its value.
    """
    for what, value in (("dev_fraction", dev_fraction), ("test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise DatasetError(f"{what} must be between 0 and 1 (exclusive), got {value!r}")
    if dev_fraction + test_fraction >= 1:
        raise DatasetError(f"dev_fraction + test_fraction must be below 1, got {dev_fraction + test_fraction}")
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
        raise DatasetError(f"max_len must be a positive integer or None, got {max_len!r}")
    if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
        raise DatasetError(f"min_freq must be a positive integer, got {min_freq!r}")


def read_source(source, where: str) -> bytes:
    """The raw bytes of a path or a binary file object (rewound first when it can seek).

    Raises:
        DatasetError: missing path, a text-mode file object, another type, or 0 bytes.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(os.fspath(source))
        if not path.is_file():
            raise DatasetError(f"{where} does not exist (or is not a file)")
        data = path.read_bytes()
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read()
        if isinstance(data, str):
            raise DatasetError(f"{where}: expected a binary file object, got text; open the file in 'rb' mode")
    else:
        raise DatasetError(f"expected a path or a binary file object, got {type(source).__name__}")
    if not data:
        raise DatasetError(f"{where} is empty (0 bytes)")
    return bytes(data)


def decode(data: bytes, where: str) -> str:
    """``data`` decoded as UTF-8 (a leading BOM is dropped).

    Raises:
        DatasetError: not UTF-8; the message gives the first bad byte and its line number.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DatasetError(
            f"{where} is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line} cannot be decoded; "
            "save the CSV as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet) and try again"
        ) from None


def parse_csv(text: str, where: str) -> tuple[list[str], list[list[str]]]:
    """Parse CSV text into a header and data rows; blank lines are skipped.

    Returns:
        ``(header, records)``: the ``c`` stripped column names and the data rows, each a list of
        ``c`` unstripped cells, in file order.

    Raises:
        DatasetError: blank text, NUL bytes, malformed CSV, a duplicated column name, no data rows,
            or a row whose field count differs from the header's.
    """
    if not text.strip():
        raise DatasetError(f"{where} is empty (only whitespace)")
    if "\x00" in text:
        raise DatasetError(f"{where} is not a CSV text file (it contains NUL bytes)")
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), strict=True) if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise DatasetError(f"{where} cannot be parsed as CSV: {exc}") from None
    header = [cell.strip() for cell in rows[0]]
    check_unique_header(header, where)
    records = rows[1:]
    if not records:
        raise DatasetError(f"{where} has a header ({', '.join(header)}) but no data rows")
    for number, row in enumerate(records, start=2):
        if len(row) != len(header):
            raise DatasetError(
                f"{where} cannot be parsed as CSV: row {number} has {len(row)} fields but the header has "
                f"{len(header)} (quote texts that contain commas)"
            )
    return header, records


def check_unique_header(header: list[str], where: str) -> None:
    """Refuse a header that names a column twice (a lookup would silently use the first)."""
    positions: dict[str, list[int]] = {}
    for number, name in enumerate(header, start=1):
        if name:  # unnamed columns (e.g. trailing commas) are never looked up
            positions.setdefault(name, []).append(number)
    duplicated = {name: numbers for name, numbers in positions.items() if len(numbers) > 1}
    if duplicated:
        listed = "; ".join(f"{name!r} (columns {', '.join(map(str, numbers))})"
                           for name, numbers in duplicated.items())
        raise DatasetError(f"{where}: the header names a column more than once: {listed}; "
                           "rename or remove the extra column(s) so that it is clear which one to read")


def check_labels(labels: Sequence[str], column: str, where: str) -> None:
    """Refuse blank labels and missing-value spellings (``NaN``, ``null``, ``None``, ``NA``, ``n/a``, ``<NA>``).

    Args:
        labels: one stripped label per data row, in file order (row 2 is the first
            data row, counting the header as row 1).
        column: the label column's name, for the message.
        where: the source description, for the message.

    Raises:
        DatasetError: saying how many rows are affected, the first row number and its value.
    """
    blank = [i + 2 for i, label in enumerate(labels) if not label]
    if blank:
        raise DatasetError(
            f"{where}: {rows_have(len(blank))} an empty {column!r} "
            f"(first at row {blank[0]}, counting the header as row 1)"
        )
    missing = [i for i, label in enumerate(labels) if label.lower() in MISSING_LABELS]
    if missing:
        first = missing[0]
        raise DatasetError(
            f"{where}: {rows_have(len(missing))} a missing {column!r} (first at row {first + 2}, counting the "
            f"header as row 1: {labels[first]!r}); fill in the labels or remove those rows "
            "(NaN, null, None, NA, n/a and <NA>, in any case, are read as missing values, not as a class)"
        )


def rows_have(n: int) -> str:
    """``"1 row has"`` or ``"<n> rows have"``, for messages."""
    return "1 row has" if n == 1 else f"{n} rows have"


def select_columns(header: list[str], records: list[list[str]], text_column: str, label_column: str,
                    where: str) -> tuple[list[str], list[str], list[str] | None]:
    """The text, label and (if the header has one) ``split`` columns of the records, stripped.

    Args:
        header, records: as returned by :func:`parse_csv` (``n`` records).
        text_column, label_column: the names of the columns to read.
        where: the source description, for messages.

    Returns:
        ``(texts, labels, splits)``: ``n`` texts, ``n`` labels (checked by :func:`check_labels`)
        and ``n`` lower-cased split names, or ``None`` without a ``split`` column (or when it is
        the text or label column).

    Raises:
        DatasetError: a missing column, blank or missing-value labels.
    """
    for column in (text_column, label_column):
        if column not in header:
            raise DatasetError(
                f"{where} has no column {column!r}; columns found: {', '.join(map(repr, header))}"
            )
    t, l = header.index(text_column), header.index(label_column)
    texts = [row[t].strip() for row in records]
    labels = [row[l].strip() for row in records]
    check_labels(labels, label_column, where)
    splits = None
    if "split" in header and "split" not in (text_column, label_column):
        s = header.index("split")
        splits = [row[s].strip().lower() for row in records]
    return texts, labels, splits


def check_classes(labels: list[str], where: str) -> None:
    """Refuse usable rows (one label each) with a single class, fewer than :data:`MIN_ROWS` rows,
    or a class with fewer than 2 rows.

    Raises:
        DatasetError: saying which rule failed.
    """
    counts = Counter(labels)
    if len(counts) < 2:
        raise DatasetError(
            f"{where} has only one class ({next(iter(counts))!r}); a classifier needs at least 2 labels"
        )
    if len(labels) < MIN_ROWS:
        raise DatasetError(
            f"{where} has too few rows: {len(labels)} usable after dropping empty texts and duplicates; "
            f"need at least {MIN_ROWS}"
        )
    small = sorted(label for label, n in counts.items() if n < 2)
    if small:
        raise DatasetError(
            f"{where}: class(es) {', '.join(map(repr, small))} have fewer than 2 examples; "
            "each class needs at least 2 to be split into train and test"
        )


def check_split_column(splits: list[str], where: str) -> list[str]:
    """Check a ``split`` column (one value per row): only train/dev/test, and each of them present.

    Returns:
        ``splits`` unchanged.

    Raises:
        DatasetError: unknown values, or a split with no rows.
    """
    bad = sorted(set(splits) - set(SPLIT_NAMES))
    if bad:
        raise DatasetError(f"{where}: column 'split' has values {bad}; allowed: {', '.join(SPLIT_NAMES)}")
    missing = [s for s in SPLIT_NAMES if s not in splits]
    if missing:
        raise DatasetError(f"{where}: column 'split' has no {', '.join(missing)} rows")
    return splits
