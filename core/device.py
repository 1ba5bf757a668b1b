"""Device selection: CUDA when present, else CPU, always overridable."""

from __future__ import annotations

import torch


def pick_device(preference: str | None = None) -> torch.device:
    """Return the torch device to run on.

    Args:
        preference: ``None`` or ``"auto"`` picks CUDA when available, else CPU;
            ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` force a device.

    Raises:
        ValueError: the preference names CUDA but no CUDA device is available,
            or it is not a device name torch understands.
    """
    if preference in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(preference)
    except RuntimeError as err:
        raise ValueError(f"unknown device {preference!r}: use auto, cpu, cuda or cuda:N") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {preference!r} asked for, but no CUDA device is available here")
    return device


def describe_device(device: torch.device | None = None) -> str:
    """A one-line human description, e.g. ``"cpu (2 threads)"`` or ``"cuda:0 (NVIDIA H200)"``."""
    device = device or pick_device()
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads != 1 else ''})"
