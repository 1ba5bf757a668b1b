"""The base of every loaded model: a network with its tokenizer and checkpoint config.

It sits below the architectures (:mod:`core.models.pair` builds on it, :mod:`core.models.factory`
re-exports it), so a network module never needs the factory that builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch


@dataclass
class ModelBundle:
    """A network with its tokenizer and checkpoint config (base of the single-text and pair bundles).

    Attributes:
        name: registry name (checkpoint directory name), or "" for an unsaved model.
        model: the network, in eval mode.
        tokenizer: a :class:`WordTokenizer` or :class:`WordPieceTokenizer`.
        config: the checkpoint config (architecture, method, dataset, label names, metrics, ...).
        path: the checkpoint directory it was loaded from (None for an unsaved model).
    """

    name: str
    model: Any
    tokenizer: Any
    config: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def label_names(self) -> list[str]:
        """The class names, in label-index order."""
        return list(self.config["label_names"])

    @property
    def device(self) -> torch.device:
        """The device the network's parameters are on."""
        return self.model.device
