"""Train the default checkpoints shipped in assets/checkpoints and print their README table.

Usage::

    python scripts/train_shipped.py [--only NAME ...] [--seeds 0 1 2] [--device auto]

Every shipped model is trained with the settings below on its bundled dataset,
once per seed; the run with the best dev accuracy is kept (the same rule for
every method, so base and mask models are selected alike). Weights are stored
as float16; the frozen GloVe table is rebuilt from its package at load time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import paths  # noqa: E402
from core.models import load_model, save_model  # noqa: E402
from core.training import TrainSettings, train  # noqa: E402

EPOCHS = 15
SHIPPED = [
    ("cnn", "base", "movie-snippets"), ("cnn", "l2", "movie-snippets"), ("cnn", "vmask", "movie-snippets"),
    ("cnn", "iba", "movie-snippets"), ("cnn", "l2x", "movie-snippets"),
    ("lstm", "base", "movie-snippets"), ("lstm", "vmask", "movie-snippets"),
    ("cnn", "base", "trec6"), ("cnn", "vmask", "trec6"),
]
# VMASK paper, Table 3: CNN/LSTM test accuracy on SST-2 (stand-in: movie-snippets) and TREC.
PAPER = {("cnn", "base", "movie-snippets"): 85.50, ("cnn", "l2", "movie-snippets"): 85.56,
         ("cnn", "vmask", "movie-snippets"): 85.78, ("cnn", "iba", "movie-snippets"): 84.24,
         ("cnn", "l2x", "movie-snippets"): 80.01, ("lstm", "base", "movie-snippets"): 83.74,
         ("lstm", "vmask", "movie-snippets"): 84.35, ("cnn", "base", "trec6"): 92.40,
         ("cnn", "vmask", "trec6"): 93.02}
PAPER_DATA = {"movie-snippets": "SST-2", "trec6": "TREC"}


def train_best_of_seeds(architecture: str, method: str, dataset: str, seeds: list[int], device: str):
    """Train once per seed and return the run with the best dev accuracy."""
    runs = []
    for seed in seeds:
        settings = TrainSettings(dataset=dataset, architecture=architecture, method=method, epochs=EPOCHS, seed=seed,
                                 device=device, half_precision=True)
        result = train(settings, save=False, progress=False)
        print(f"  seed {seed}: dev {result.metrics['dev_accuracy']:.4f} test {result.metrics['test_accuracy']:.4f}",
              flush=True)
        runs.append(result)
    return max(runs, key=lambda r: r.metrics["dev_accuracy"])


def readme_table() -> str:
    """Markdown table of the shipped checkpoints next to the paper's analogous numbers."""
    lines = ["| model | dataset | dev acc. | test acc. | paper (Table 3, other data) |",
             "| --- | --- | --- | --- | --- |"]
    for architecture, method, dataset in SHIPPED:
        name = f"{architecture}-{method}-{dataset}"
        config_path = paths.SHIPPED_CHECKPOINTS_DIR / name / "config.json"
        if not config_path.exists():
            continue
        config = json.loads(config_path.read_text())
        metrics = config["metrics"]
        paper = PAPER[(architecture, method, dataset)]
        lines.append(f"| {name} | {dataset} | {100 * metrics['dev_accuracy']:.2f} | "
                     f"{100 * metrics['test_accuracy']:.2f} | {paper:.2f} ({PAPER_DATA[dataset]}) |")
    return "\n".join(lines)


def main() -> None:
    """Train the shipped models (all, or those named by --only) and refresh the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="names like cnn-vmask-movie-snippets")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    for architecture, method, dataset in SHIPPED:
        name = f"{architecture}-{method}-{dataset}"
        if args.only and name not in args.only:
            continue
        print(name, flush=True)
        best = train_best_of_seeds(architecture, method, dataset, args.seeds, args.device)
        path = save_model(best.model, paths.SHIPPED_CHECKPOINTS_DIR / name, half_precision=True)
        reloaded = load_model(path, device="cpu")
        print(f"  kept seed {best.model.config['training']['seed']}: test {best.metrics['test_accuracy']:.4f} "
              f"({reloaded.name} reloads)", flush=True)
    print("\nTable for README.md and assets/checkpoints/README.md:\n" + readme_table())


if __name__ == "__main__":
    main()
