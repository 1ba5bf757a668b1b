"""Model registry: every checkpoint MaskLens can load, shipped or user-trained.

The CLI (``python -m core.models list``) and every page picker use
:func:`list_models`, so they always agree.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from core import paths
from core.checkpoints import CheckpointError, read_config
from core.fileio import recover_directories

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


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


def check_model_name(name: str) -> None:
    """Raise ValueError unless ``name`` can name a checkpoint directory: 1-100 letters, digits,
    ``.``, ``_``, ``-``, starting with a letter or digit (so no path separator, ``.`` or ``..``)."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"model name {name!r} is not allowed: use 1-100 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")


def shipped_model_names() -> set[str]:
    """Names of the shipped checkpoint directories (no config is parsed)."""
    directory = paths.SHIPPED_CHECKPOINTS_DIR
    if not directory.is_dir():
        return set()
    return {p.name for p in directory.iterdir() if (p / "config.json").is_file() and not p.name.startswith(".")}


def new_model_directory(name: str, output_dir: str | Path | None = None, overwrite: bool = False) -> Path:
    """Where a new checkpoint called ``name`` goes, after the one name rule every entry point applies.

    The rule: :func:`check_model_name`; a shipped model's name is refused for the user models
    folder (a user model of that name would be hidden by it); an existing directory is refused
    unless ``overwrite``, and even then only a MaskLens checkpoint is replaced. The result is
    always a direct child of ``output_dir``, so nothing outside it is ever touched.

    Args:
        name: the checkpoint (directory) name.
        output_dir: default ``$MASKLENS_HOME/models``.
        overwrite: replace an existing checkpoint of that name.

    Raises:
        ValueError: with a message that says what to change.
    """
    check_model_name(name)
    parent = Path(output_dir) if output_dir is not None else paths.user_models_dir()
    shipped_dir = paths.SHIPPED_CHECKPOINTS_DIR.resolve()
    if parent.resolve() != shipped_dir and name in shipped_model_names():
        raise ValueError(f"{name!r} is the name of a shipped model; choose another name")
    target = parent / name
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise ValueError(f"a model called {name!r} already exists at {target}; choose another name or ask to "
                             "overwrite it (--overwrite, overwrite=True)")
        try:
            read_config(target)
        except CheckpointError as err:
            raise ValueError(f"{target} exists and is not a readable MaskLens checkpoint, so it is not replaced "
                             f"({err}); move it away or choose another name") from err
    return target


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
        problems.extend(recover_directories(paths.user_models_dir()))
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
