"""Optimisation-step helpers: freeze all but some parameters for one phase of a schedule; one clipped step."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn


@contextmanager
def trainable_only(net: nn.Module, prefixes: tuple[str, ...] | None) -> Iterator[list[str]]:
    """Within the block only parameters whose name starts with one of ``prefixes`` can change.

    The others get ``requires_grad = False`` (so their ``.grad`` stays None
    and Adam skips them: no step, no moment update) and are restored on exit;
    parameters that were frozen before stay frozen. ``prefixes=None`` changes
    nothing.

    Yields:
        The names of the parameters that stay trainable in the block.
    """
    if prefixes is None:
        yield [name for name, param in net.named_parameters() if param.requires_grad]
        return
    switched = [param for name, param in net.named_parameters()
                if param.requires_grad and not name.startswith(prefixes)]
    for param in switched:
        param.requires_grad_(False)
    try:
        yield [name for name, param in net.named_parameters() if param.requires_grad]
    finally:
        for param in switched:
            param.requires_grad_(True)


@contextmanager
def frozen(net: nn.Module, prefixes: tuple[str, ...]) -> Iterator[None]:
    """Within the block parameters whose name starts with one of ``prefixes`` cannot change (restored on exit)."""
    switched = [param for name, param in net.named_parameters() if param.requires_grad and name.startswith(prefixes)]
    for param in switched:
        param.requires_grad_(False)
    try:
        yield
    finally:
        for param in switched:
            param.requires_grad_(True)


def optimizer_step(net: nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor, clip_norm: float) -> float:
    """Backpropagate ``loss``, clip the gradient norm of ``net`` to ``clip_norm``, step; returns the loss value."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), clip_norm)
    optimizer.step()
    return loss.item()
