"""Disk store of evaluation work: explanations per example and metric results, resumable.

Layout under ``$MASKLENS_HOME/evaluations/`` (``root``)::

    <fingerprint[:16]>/                      # model: its checkpoint's weights_sha256
      explanations/<explainer>-<params hash>.json
      metrics/<metric>-<key hash>.json

An explanations file holds, for one (model, explainer, explainer params)::

    {"format": "masklens-evaluation-explanations", "version": 1,
     "model_fingerprint": "...", "model_name": "...", "explainer": "zero", "params": {...},
     "explanations": {example_id: Explanation.to_dict(), ...},
     "errors": {example_id: "why it could not be explained", ...}}

A metric file holds ``{"format": "masklens-evaluation-metric", "version": 1, "key": {...}, "result": {...}}``
where the key is (model fingerprint, explainer, explainer params, metric, metric params,
sorted example ids). Every write is atomic (:func:`core.fileio.atomic_write_json`), so a killed
run leaves the previous complete file. A file that cannot be read (broken JSON, wrong shape) is
renamed ``<name>.corrupt`` with a warning and treated as empty.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

from core.explain.base import ExplainError
from core.fileio import atomic_write_json
from core.paths import user_home

EXPLANATIONS_FORMAT = "masklens-evaluation-explanations"
METRIC_FORMAT = "masklens-evaluation-metric"
VERSION = 1


def canonical_json(obj: Any) -> str:
    """Sorted-key, compact JSON: equal objects give equal strings (the store's keys)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def short_hash(obj: Any, length: int = 16) -> str:
    """First ``length`` hex digits of the sha256 of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()[:length]


def default_root() -> Path:
    """``$MASKLENS_HOME/evaluations``."""
    return user_home() / "evaluations"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "_"


def read_or_quarantine(path: Path, expected_format: str) -> dict | None:
    """The JSON object in ``path`` (None when absent); a corrupt file is moved aside to ``.corrupt`` and None."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != expected_format or data.get("version") != VERSION:
            raise ValueError("not a MaskLens evaluation store file of this version")
    except (OSError, ValueError, UnicodeDecodeError) as error:
        aside = path.with_name(path.name + ".corrupt")
        try:
            os.replace(path, aside)
            where = f"moved aside to {aside}"
        except OSError:
            where = "left in place"
        warnings.warn(f"{path}: unreadable evaluation store file ({error}); {where}, starting afresh",
                      RuntimeWarning, stacklevel=3)
        return None
    return data


class ExplanationFile:
    """The explanations of one (model, explainer, params), loaded from disk; :meth:`flush` writes it atomically."""

    def __init__(self, path: Path, header: dict[str, Any]):
        self.path = path
        data = read_or_quarantine(path, EXPLANATIONS_FORMAT)
        if data is not None and (not isinstance(data.get("explanations"), dict)
                                 or not isinstance(data.get("errors", {}), dict)):
            data = None
        self.data = {"format": EXPLANATIONS_FORMAT, "version": VERSION, **header,
                     "explanations": dict(data["explanations"]) if data else {},
                     "errors": dict(data.get("errors", {})) if data else {}}
        self.dirty = 0

    def has(self, example_id: str) -> bool:
        """True when ``example_id`` was explained (or found unexplainable) before."""
        return example_id in self.data["explanations"] or example_id in self.data["errors"]

    def get(self, example_id: str) -> dict | None:
        """The stored explanation dict of ``example_id`` (None when absent or unexplainable)."""
        return self.data["explanations"].get(example_id)

    def error(self, example_id: str) -> str | None:
        """Why ``example_id`` could not be explained (None when it was, or was not tried)."""
        return self.data["errors"].get(example_id)

    def add(self, example_id: str, explanation: dict) -> None:
        self.data["explanations"][example_id] = explanation
        self.dirty += 1

    def add_error(self, example_id: str, message: str) -> None:
        self.data["errors"][example_id] = message
        self.dirty += 1

    def flush(self) -> None:
        """Write the file atomically when something changed since the last flush."""
        if self.dirty:
            atomic_write_json(self.path, self.data)
            self.dirty = 0

    def fill(self, example_ids: Sequence[str], explain_one: Callable[[str], dict], flush_every: int,
             on_each: Callable[[], None] | None = None) -> int:
        """Explain and store each of ``example_ids``; returns how many were tried.

        ``explain_one(id)`` returns the explanation dict or raises an ``ExplainError``, stored
        as the example's error (any other exception propagates). The file is written
        atomically every ``flush_every`` new entries and on the way out, also on an
        exception or Ctrl-C, so a killed run keeps what it explained and resumes from there.
        """
        tried = 0
        try:
            for example_id in example_ids:
                try:
                    self.add(example_id, explain_one(example_id))
                except ExplainError as error:
                    self.add_error(example_id, str(error))
                tried += 1
                if on_each is not None:
                    on_each()
                if self.dirty >= flush_every:
                    self.flush()
        finally:
            self.flush()
        return tried


class EvaluationStore:
    """Explanations and metric results on disk (see the module docstring for the layout).

    Args:
        root: directory of the store; default ``$MASKLENS_HOME/evaluations`` (read when used,
            so tests that set ``MASKLENS_HOME`` get a fresh store).
    """

    def __init__(self, root: str | Path | None = None):
        self._root = Path(root) if root is not None else None

    @property
    def root(self) -> Path:
        return self._root if self._root is not None else default_root()

    def model_dir(self, fingerprint: str) -> Path:
        return self.root / _safe(fingerprint[:16])

    def explanations_path(self, fingerprint: str, explainer: str, params: dict[str, Any]) -> Path:
        return self.model_dir(fingerprint) / "explanations" / f"{_safe(explainer)}-{short_hash(params)}.json"

    def explanations(self, fingerprint: str, explainer: str, params: dict[str, Any],
                     model_name: str = "") -> ExplanationFile:
        """The (possibly empty) explanations file of (model, explainer, params)."""
        header = {"model_fingerprint": fingerprint, "model_name": model_name, "explainer": explainer,
                  "params": json.loads(canonical_json(params))}
        return ExplanationFile(self.explanations_path(fingerprint, explainer, params), header)

    @staticmethod
    def metric_key(fingerprint: str, explainer: str, params: dict[str, Any], metric: str,
                   metric_params: dict[str, Any], example_ids) -> dict[str, Any]:
        """The identity of a metric result (JSON-ready)."""
        return json.loads(canonical_json({"model_fingerprint": fingerprint, "explainer": explainer,
                                          "params": params, "metric": metric, "metric_params": metric_params,
                                          "example_ids": sorted(str(i) for i in example_ids)}))

    def metric_path(self, key: dict[str, Any]) -> Path:
        return (self.model_dir(key["model_fingerprint"]) / "metrics"
                / f"{_safe(key['metric'])}-{_safe(key['explainer'])}-{short_hash(key, 24)}.json")

    def get_metric(self, key: dict[str, Any]) -> Any | None:
        """The cached result for ``key`` (None when absent, corrupt or a hash collision)."""
        data = read_or_quarantine(self.metric_path(key), METRIC_FORMAT)
        if data is None or data.get("key") != key or "result" not in data:
            return None
        return data["result"]

    def put_metric(self, key: dict[str, Any], result: Any) -> None:
        """Cache ``result`` (JSON-ready) under ``key``, atomically."""
        atomic_write_json(self.metric_path(key), {"format": METRIC_FORMAT, "version": VERSION, "key": key,
                                                  "result": result})
