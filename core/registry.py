"""Model registry: every checkpoint MaskLens can load, shipped or user-trained.

The CLI (``python -m core.models list``) and every page picker use
:func:`list_models`, so they always agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from core import paths
from core.checkpoints import CheckpointError, read_config


@dataclass(frozen=True)
class ModelRecord:
    """One loadable model, as listed to users.

    Attributes:
        name: unique name, the checkpoint directory's name.
        dataset: dataset it was trained on.
        architecture: ``cnn``, ``lstm``, ``minilm``, ...
        method: training method: ``base``, ``l2``, ``vmask``, ``iba``, ``l2x``, ...
        test_accuracy: accuracy on the dataset's test split in [0, 1], or None.
        pair: True for sentence-pair models.
        path: checkpoint directory.
        source: ``"shipped"`` (under assets/checkpoints) or ``"user"``.
        label_names: class names in output order.
    """

    name: str
    dataset: str
    architecture: str
    method: str
    test_accuracy: float | None
    pair: bool
    path: str
    source: str
    label_names: tuple[str, ...]

    def to_dict(self) -> dict:
        """JSON-ready dict of this record."""
        record = asdict(self)
        record["label_names"] = list(self.label_names)
        return record


class ModelNotFoundError(LookupError):
    """No model of the asked name is registered."""


def _scan(directory: Path, source: str, problems: list[str]) -> list[ModelRecord]:
    if not directory.is_dir():
        return []
    records = []
    for ckpt_dir in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            config = read_config(ckpt_dir)
        except CheckpointError as err:
            problems.append(str(err))
            continue
        records.append(ModelRecord(
            name=ckpt_dir.name,
            dataset=config["dataset"],
            architecture=config["architecture"],
            method=config["method"],
            test_accuracy=config.get("metrics", {}).get("test_accuracy"),
            pair=bool(config.get("pair", False)),
            path=str(ckpt_dir),
            source=source,
            label_names=tuple(config["label_names"]),
        ))
    return records


def list_models(include_user: bool = True, problems: list[str] | None = None) -> list[ModelRecord]:
    """All loadable models: shipped ones first, then user-trained ones.

    Args:
        include_user: also scan the user model directory (``$MASKLENS_HOME/models``).
        problems: if given, a message is appended for every checkpoint directory
            that could not be read (it is skipped, never fatal), and for a user
            model whose name is already taken by a shipped one.

    Returns:
        Records sorted by source, then name.
    """
    problems = [] if problems is None else problems
    records = _scan(paths.SHIPPED_CHECKPOINTS_DIR, "shipped", problems)
    if include_user:
        taken = {r.name for r in records}
        for record in _scan(paths.user_models_dir(), "user", problems):
            if record.name in taken:
                problems.append(f"user model {record.path} is hidden by a shipped model of the same name")
                continue
            records.append(record)
    return records


def find_model(name: str) -> ModelRecord:
    """The record of the model called ``name``.

    Raises:
        ModelNotFoundError: no such model; the message lists the available names.
    """
    records = list_models()
    for record in records:
        if record.name == name:
            return record
    available = ", ".join(r.name for r in records) or "none"
    raise ModelNotFoundError(f"no model named {name!r}; available models: {available}")
