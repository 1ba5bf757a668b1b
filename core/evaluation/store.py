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
sorted example ids).

Concurrency: several processes (two ``python -m core.evaluate``, the app's page) may fill
the same store. An explanations file is read, merged and replaced only while holding an
exclusive lock on its sibling ``<name>.lock`` (:func:`core.fileio.file_lock`): a flush
re-reads the file, adds this writer's entries that are not on disk yet (an id already on
disk keeps the disk's entry: the same deterministic computation) and replaces the file, so
no writer drops another's entries. Two runs may still compute the same example twice.
Metric files are not locked: each is one atomic write of a value that any writer computes
identically, so the last write wins harmlessly. Without ``fcntl`` (Windows) nothing is
locked and concurrent writers may lose entries.

Crashes: every write goes through a temporary sibling ``.<name>.<pid>.<random>.tmp`` and an
atomic rename, so a reader sees the previous or the new complete file, never half of one.
A kill loses at most the explanations computed since the last flush (``flush_every``) and
the metric being computed. Temporary files and lock files left by dead processes are
removed the next time the file is opened or written.

A file that cannot be used (broken JSON, wrong format, or an entry of the wrong shape such
as an explanation without ``words``/``scores``) is renamed ``<name>.corrupt`` with a
RuntimeWarning and treated as empty, so the run recomputes what it held.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

from core.checkpoints import is_number
from core.explain.base import ExplainError
from core.faults import fault_point
from core.fileio import atomic_write_json, file_lock, remove_stale_temp_files
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


def read_or_quarantine(path: Path, expected_format: str,
                       check: Callable[[dict], str | None] | None = None) -> dict | None:
    """The JSON object in ``path`` (None when absent); a corrupt file is moved aside to ``.corrupt`` and None.

    ``check(data)`` says what is wrong with the content of a file of the right format (None
    when nothing is); such a file counts as corrupt too.
    """
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != expected_format or data.get("version") != VERSION:
            raise ValueError("not a MaskLens evaluation store file of this version")
        problem = check(data) if check is not None else None
        if problem:
            raise ValueError(problem)
    except FileNotFoundError:  # removed since is_file()
        return None
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


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and all(is_number(v) for v in value)


def _valid_explanation(entry: Any) -> bool:
    """True when ``entry`` has what the runners read: ``words`` (strings), one number per word in ``scores``
    and, for a pair, an integer ``n_words_a`` within the words."""
    if not isinstance(entry, dict):
        return False
    words, scores, n_a = entry.get("words"), entry.get("scores"), entry.get("n_words_a", 0)
    return (isinstance(words, list) and all(isinstance(w, str) for w in words) and _numbers(scores)
            and len(scores) == len(words) and isinstance(n_a, int) and not isinstance(n_a, bool)
            and 0 <= n_a <= len(words))


def _explanations_problem(data: dict) -> str | None:
    """What makes an explanations file unusable (None when nothing): see :func:`_valid_explanation`."""
    explanations, errors = data.get("explanations"), data.get("errors", {})
    if not isinstance(explanations, dict) or not isinstance(errors, dict):
        return "'explanations' and 'errors' must be objects"
    for example_id, entry in explanations.items():
        if not _valid_explanation(entry):
            return f"malformed explanation of example {example_id!r}"
    for example_id, message in errors.items():
        if not isinstance(message, str):
            return f"malformed error of example {example_id!r}"
    if len({"n_words_a" in entry for entry in explanations.values()}) > 1:  # one explainer: all pairs or none
        return "explanations of pairs mixed with explanations of single texts"
    return None


# The number each metric's result must hold; its curves (lists of numbers) and ``k_max`` are
# checked when present (results stored by older versions lack some).
_METRIC_VALUE = {"aopc": "value", "degradation": "score", "auc_rep": "value", "comprehensiveness": "value",
                 "sufficiency": "value"}
_METRIC_CURVES = ("per_k", "fractions", "morf", "lerf", "mean_curve", "thresholds", "per_threshold")


def _metric_result_problem(metric: str, result: Any) -> str | None:
    """What makes a stored metric result unusable by the runners and the CLI (None when nothing)."""
    if not isinstance(result, dict):
        return "the result is not an object"
    if metric == "posthoc":
        ok = all(k.isdigit() and is_number(v) for k, v in result.items())
    else:
        k_max = result.get("k_max", 1)
        ok = ((metric not in _METRIC_VALUE or is_number(result.get(_METRIC_VALUE[metric])))
              and all(_numbers(result[f]) for f in _METRIC_CURVES if f in result)
              and isinstance(k_max, int) and not isinstance(k_max, bool))
    return None if ok else f"malformed {metric} result"


class ExplanationFile:
    """The explanations of one (model, explainer, params), loaded from disk; :meth:`flush` merges them into it.

    Reading and writing the file happen under :func:`core.fileio.file_lock` on ``<name>.lock``
    (see the module docstring), so writers in several processes keep all of each other's entries.
    """

    def __init__(self, path: Path, header: dict[str, Any]):
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self.data = {"format": EXPLANATIONS_FORMAT, "version": VERSION, **header, "explanations": {}, "errors": {}}
        self.dirty = 0
        with file_lock(self.lock_path):
            remove_stale_temp_files(path.parent, path.name)
            self._merge(read_or_quarantine(path, EXPLANATIONS_FORMAT, _explanations_problem))

    def _merge(self, disk: dict | None) -> int:
        """Take the entries of ``disk`` (the file's content) into memory; returns how many of ours it lacks.

        An id on disk keeps the disk's entry (explanation or error); ours are kept for the others.
        """
        if disk is None:
            return len(self.data["explanations"]) + len(self.data["errors"])
        on_disk = disk["explanations"].keys() | disk.get("errors", {}).keys()
        explanations = {i: e for i, e in self.data["explanations"].items() if i not in on_disk}
        errors = {i: m for i, m in self.data["errors"].items() if i not in on_disk}
        self.data["explanations"] = {**disk["explanations"], **explanations}
        self.data["errors"] = {**disk.get("errors", {}), **errors}
        return len(explanations) + len(errors)

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
        """Record the explanation dict of ``example_id`` (written by the next :meth:`flush`)."""
        self.data["explanations"][example_id] = explanation
        self.dirty += 1

    def add_error(self, example_id: str, message: str) -> None:
        """Record why ``example_id`` cannot be explained (written by the next :meth:`flush`)."""
        self.data["errors"][example_id] = message
        self.dirty += 1

    def flush(self) -> None:
        """If something was added since the last flush: under the lock, merge with the file, replace it atomically.

        Afterwards the in-memory entries also hold what other writers stored meanwhile.
        """
        if not self.dirty:
            return
        with file_lock(self.lock_path):
            remove_stale_temp_files(self.path.parent, self.path.name)
            if self._merge(read_or_quarantine(self.path, EXPLANATIONS_FORMAT, _explanations_problem)):
                atomic_write_json(self.path, self.data,
                                        before_replace=lambda: fault_point("store.flush.before_replace"))
                fault_point("store.flush.after_replace")
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
        """The cached result for ``key`` (None when absent, a hash collision, or corrupt: then moved aside)."""

        def problem(data: dict) -> str | None:
            if data.get("key") != key:  # another key's file: not corrupt, and put_metric replaces it
                return None
            return _metric_result_problem(key["metric"], data["result"]) if "result" in data else "no result"

        data = read_or_quarantine(self.metric_path(key), METRIC_FORMAT, problem)
        if data is None or data.get("key") != key:
            return None
        return data["result"]

    def put_metric(self, key: dict[str, Any], result: Any) -> None:
        """Cache ``result`` (JSON-ready) under ``key``, atomically (unlocked: see the module docstring)."""
        path = self.metric_path(key)
        remove_stale_temp_files(path.parent, path.name)
        atomic_write_json(path, {"format": METRIC_FORMAT, "version": VERSION, "key": key, "result": result})
