"""Bundled text-classification datasets and user CSV uploads: the public facade.

Every dataset reaches the models as a :class:`DatasetSplits`: the original
texts (models clean them at load time with :func:`core.data.text.clean_text`),
label indices into ``label_names`` and fixed train/dev/test splits.

The code lives by concern; this module re-exports its public names so that
``from core.data.datasets import X`` works for all of them:

* :mod:`core.data.splits`: :class:`DatasetSplits`, :class:`TextSplit`, the shared
  processing rules (:func:`deduplicate`, :func:`stratified_split`) and the fingerprint.
* :mod:`core.data.bundled`: the datasets in ``core.paths.DATA_DIR`` (``<name>.csv.gz``
  with columns ``id,text,label,split``, described by ``manifest.json`` there and
  rebuilt by ``scripts/build_datasets.py``): :func:`list_datasets`,
  :func:`dataset_info`, :func:`load_dataset`.
* :mod:`core.data.user_csv`: :func:`load_user_csv`, which validates, cleans and
  splits a user CSV with the same rules as the bundled data: rows without words
  are dropped, texts are de-duplicated on their cleaned form (majority label
  wins; ties are dropped) so that no text is in two splits, and splits are
  stratified by label and seeded.
* :mod:`core.data.csv_input`: the CSV reading and checking rules shared with
  pair CSVs, and :class:`DatasetError`.
"""

from __future__ import annotations

from core.data.bundled import MANIFEST_NAME, dataset_info, list_datasets, load_dataset
from core.data.csv_input import MIN_ROWS, MISSING_LABELS, SPLIT_NAMES, DatasetError
from core.data.splits import DatasetSplits, TextSplit, deduplicate, stratified_split
from core.data.user_csv import load_user_csv

__all__ = [
    "DatasetError",
    "TextSplit",
    "DatasetSplits",
    "list_datasets",
    "dataset_info",
    "load_dataset",
    "load_user_csv",
    "deduplicate",
    "stratified_split",
    "MANIFEST_NAME",
    "MIN_ROWS",
    "MISSING_LABELS",
    "SPLIT_NAMES",
]
