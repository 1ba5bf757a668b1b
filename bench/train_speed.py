"""Seconds per training epoch for CNN/LSTM, base and VMASK, on movie-snippets.

Usage::

    python bench/train_speed.py [--epochs 2] [--devices cpu cuda] [--threads N]

Prints one row per (device, architecture, method): mean seconds per epoch over
the measured epochs (each epoch includes its dev-set evaluation), examples per
second, and the dev accuracy reached. MiniLM is timed on a 1,000-sentence
subset (200 dev), so its s/epoch is not comparable; its examples/s is. CUDA rows appear only when a CUDA device
is present. Numbers, not assertions: targets live in the README.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from core.data.datasets import load_dataset  # noqa: E402
from core.training import TrainSettings, train  # noqa: E402

RUNS = [("cnn", "base"), ("cnn", "vmask"), ("lstm", "base"), ("lstm", "vmask"), ("lstm", "vat"), ("minilm", "vmask"),
        ("minilm", "evarm")]  # vat: its compressor and learner epochs count as epochs too
MINILM_SUBSET = 1000  # MiniLM is timed on a subset: a full CPU epoch takes minutes


def measure(architecture: str, method: str, device: str, epochs: int) -> dict:
    """Train for ``epochs`` and return the mean epoch time and throughput (MiniLM: on a subset)."""
    data = load_dataset("movie-snippets")
    if architecture == "minilm":
        data = data.subset(max_train=MINILM_SUBSET, max_eval=200, seed=0)
    result = train(TrainSettings(dataset="movie-snippets", architecture=architecture, method=method, epochs=epochs,
                                 device=device), data=data, save=False, progress=False)
    seconds = [h["seconds"] for h in result.history]
    per_epoch = sum(seconds) / len(seconds)
    return {"seconds_per_epoch": per_epoch, "examples_per_second": len(data.train) / per_epoch,
            "dev_accuracy": result.metrics["dev_accuracy"]}


def main() -> None:
    """Run every configuration on every available device and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--devices", nargs="*", default=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [d for d in args.devices if d != "cuda" or torch.cuda.is_available()]
    print(f"movie-snippets train split, {args.epochs} epochs each, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads")
    print(f"{'device':<6} {'model':<13} {'s/epoch':>8} {'ex/s':>8} {'dev acc':>8}")
    for device in devices:
        for architecture, method in RUNS:
            row = measure(architecture, method, device, args.epochs)
            print(f"{device:<6} {architecture + '-' + method:<13} {row['seconds_per_epoch']:>8.2f} "
                  f"{row['examples_per_second']:>8.0f} {100 * row['dev_accuracy']:>7.2f}%", flush=True)
    if "cuda" in args.devices and not torch.cuda.is_available():
        print("cuda: no CUDA device here; GPU rows skipped")


if __name__ == "__main__":
    main()
