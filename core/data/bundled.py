"""The bundled datasets: the manifest of what ships in ``core.paths.DATA_DIR`` and loading them by name.

Each bundled dataset is ``<name>.csv.gz`` with columns ``id,text,label,split`` (fixed splits),
described by ``manifest.json`` in the same folder: label names, settings, counts, provenance
(``source``, ``license``, ``description``) and the file's sha256. Both are rebuilt by
``scripts/build_datasets.py``. Loading checks the sha256 and returns a
:class:`~core.data.splits.DatasetSplits`.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from functools import lru_cache
from pathlib import Path

from core import paths
from core.data.csv_input import SPLIT_NAMES, DatasetError
from core.data.splits import DatasetSplits, make_splits, rows_to_splits

MANIFEST_NAME = "manifest.json"


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
    splits = rows_to_splits([r["id"] for r in rows], [r["text"] for r in rows],
                            [r["label"] for r in rows], [r["split"] for r in rows], label_names)
    return make_splits(name, label_names, splits, info["max_len"], info["min_freq"], info["description"])


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
