"""The data a trained model belongs to: its own test split, never another dataset of the same name.

A checkpoint records the fingerprint of the data it was trained on (``data_fingerprint``,
see :class:`core.data.splits.DatasetSplits`). A user CSV called ``movie-snippets.csv`` makes
a dataset *named* like the bundled one, so looking data up by name alone would evaluate the
model on the wrong test set. :func:`model_dataset` therefore checks the fingerprint, and a
model trained on user data carries a copy of its test split (``test_split.json``, written by
:func:`test_split_file`) so it can be evaluated anywhere on its own test examples.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from core.data.bundled import list_datasets, load_dataset
from core.data.csv_input import DatasetError
from core.data.splits import DatasetSplits, TextSplit

TEST_SPLIT_FILE = "test_split.json"
FORMAT = "masklens-test-split"


def test_split_file(data: DatasetSplits) -> bytes:
    """``test_split.json`` for a checkpoint: the test split of ``data`` with the full data's fingerprint."""
    record = {"format": FORMAT, "version": 1, "name": data.name, "label_names": list(data.label_names),
              "data_fingerprint": data.fingerprint, "max_len": data.max_len, "min_freq": data.min_freq,
              "ids": list(data.test.ids), "texts": list(data.test.texts), "labels": list(data.test.labels)}
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def is_bundled(data: DatasetSplits) -> bool:
    """True when ``data`` is a bundled dataset as shipped (its name and fingerprint match)."""
    return data.name in list_datasets() and load_dataset(data.name).fingerprint == data.fingerprint


def _bundled_matches(config: dict[str, Any]) -> DatasetSplits | None:
    """The bundled dataset of the config's name when it is the data the model was trained on."""
    name, fingerprint = config.get("dataset", ""), config.get("data_fingerprint")
    if name not in list_datasets():
        return None
    bundled = load_dataset(name)
    if fingerprint is None or bundled.fingerprint == fingerprint:
        return bundled
    training = config.get("training") or {}
    if training.get("max_train") or training.get("max_eval"):  # trained on a seeded subset of it
        subset = bundled.subset(training.get("max_train"), training.get("max_eval"), seed=training.get("seed", 0))
        if subset.fingerprint == fingerprint:
            return bundled
    return None


def _stored_split(path: Path, fingerprint: str | None) -> DatasetSplits | None:
    file = path / TEST_SPLIT_FILE
    if not file.is_file():
        return None
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
        test = TextSplit(tuple(record["texts"]), tuple(int(x) for x in record["labels"]), tuple(record["ids"]))
        empty = TextSplit((), (), ())
        data = DatasetSplits(record["name"], tuple(record["label_names"]), empty, empty, test,
                             int(record["max_len"]), int(record["min_freq"]),
                             f"test split stored with the checkpoint {path.name}", record["data_fingerprint"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DatasetError(f"{file}: unreadable stored test split ({err})") from err
    return data if fingerprint is None or data.fingerprint == fingerprint else None


def model_dataset(config: dict[str, Any], checkpoint_dir: str | Path | None = None,
                  data: DatasetSplits | None = None) -> DatasetSplits:
    """The dataset whose test split a model is evaluated on: its own, checked by fingerprint.

    Args:
        config: the model's checkpoint config (``dataset``, ``data_fingerprint``, ``training``).
        checkpoint_dir: the checkpoint directory (for a stored ``test_split.json``).
        data: data the caller gives (e.g. the user's CSV again); it must have the model's fingerprint.

    Returns:
        The bundled dataset when it is the model's data (also when the model trained on a seeded
        subset of it), else the test split stored with the checkpoint (train/dev empty).

    Raises:
        DatasetError: the given data, or the bundled data of that name, is not the model's, and no
            copy of its test split is stored; the message says what to pass.
    """
    fingerprint = config.get("data_fingerprint")
    name = config.get("dataset", "")
    if data is not None:
        bundled = _bundled_matches(config) if fingerprint is not None and data.fingerprint != fingerprint else data
        if bundled is None or bundled.fingerprint != data.fingerprint:
            raise DatasetError(f"the given data {data.name!r} is not the data this model was trained on "
                               "(its fingerprint differs)")
        return data
    if not name and fingerprint is None:
        raise DatasetError("the model records no data of its own (a Hugging Face classifier): pass the data to "
                           "evaluate it on (data=load_dataset(name) or load_user_csv(path); --dataset NAME or "
                           "--csv FILE)")
    bundled = _bundled_matches(config)
    if bundled is not None:
        return bundled
    stored = _stored_split(Path(checkpoint_dir), fingerprint) if checkpoint_dir is not None else None
    if stored is not None:
        return stored
    also = f" (the bundled {name!r} is other data with the same name)" if name in list_datasets() else ""
    raise DatasetError(f"the model was trained on data called {name!r} that is not available here{also}, and its "
                       "checkpoint holds no copy of its test split; pass that data (data=load_user_csv(...), "
                       "--csv FILE)")


def label_mismatch(model_labels: list[str], data_labels: list[str]) -> str | None:
    """Why gold labels of the data cannot be compared with the model's classes, or None when they can.

    They can when the names agree in order (case ignored), or when the model's names are generic
    (``LABEL_0``, ``class 1``, ``2``: Hugging Face defaults), which are taken in index order.
    """
    if len(model_labels) != len(data_labels):
        return (f"the model has {len(model_labels)} classes ({', '.join(model_labels)}), the data "
                f"{len(data_labels)} ({', '.join(data_labels)})")
    generic = all(re.fullmatch(r"(label_?|class )?\d+", name.strip().lower()) for name in model_labels)
    if generic or [m.lower() for m in model_labels] == [d.lower() for d in data_labels]:
        return None
    return (f"the model's classes ({', '.join(model_labels)}) are not the data's ({', '.join(data_labels)}), in "
            "order, so its gold labels cannot be compared with the model's predictions")
