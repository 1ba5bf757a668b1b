"""Speed of ``core.evaluation.evaluate`` with the shipped CNN-VMASK on movie-snippets test sentences.

Usage::

    python bench/evaluate_speed.py [--n 50] [--explainers vmask,zero,marginal,lime]
        [--metrics aopc,posthoc,degradation,auc_rep] [--devices cpu,cuda] [--operation remove|zero|unk|mlm]

For each device (CPU, and CUDA when present unless ``--devices`` says otherwise) prints
examples per second of each explainer (explaining only) and of each metric separately
(computing it on that explainer's explanations). Every device gets a fresh temporary store,
so nothing is served from ``$MASKLENS_HOME/evaluations``; a 2-example warm-up run comes first.
The shipped MLM (for ``marginal`` and ``auc_rep``) is loaded before the clock starts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from core.cli_common import format_table  # noqa: E402
from core.evaluation import EXPLAINER_NAMES, METRICS, EvaluationStore, evaluate  # noqa: E402

MODEL = "cnn-vmask-movie-snippets"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--explainers", default=",".join(EXPLAINER_NAMES))
    parser.add_argument("--metrics", default=",".join(METRICS))
    parser.add_argument("--devices", help="comma-separated (default: cpu, plus cuda when present)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--operation", default="remove", help="deletion of AOPC and degradation")
    args = parser.parse_args()
    devices = args.devices.split(",") if args.devices else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    explainers = [e for e in args.explainers.split(",") if e]
    metrics = [m for m in args.metrics.split(",") if m]
    for device in devices:
        likelihood = None
        if "marginal" in explainers or "auc_rep" in metrics or args.operation == "mlm":
            from core.lm.mlm import load_likelihood

            likelihood = load_likelihood("mlm", device=device)
        with tempfile.TemporaryDirectory(prefix="masklens-bench-warmup-") as root:  # first calls are slow
            evaluate(MODEL, explainers=explainers, metrics=metrics, n=2, seed=args.seed + 1, device=device,
                     progress=False, store=EvaluationStore(root), likelihood=likelihood, operation=args.operation)
        with tempfile.TemporaryDirectory(prefix="masklens-bench-") as root:
            started = time.perf_counter()
            records = evaluate(MODEL, explainers=explainers, metrics=metrics, n=args.n, seed=args.seed,
                               device=device, progress=False, store=EvaluationStore(root), likelihood=likelihood,
                               operation=args.operation)
            total = time.perf_counter() - started
        rows = []
        for record in records:
            if record["skipped"]:
                rows.append({"explainer": record["explainer"], "n": "skipped"})
                continue
            row = {"explainer": record["explainer"], "n": record["n"]}
            for what in ["explain"] + metrics:
                seconds = record["timing"].get(what)
                row[what] = None if seconds is None else f"{record['n'] / max(seconds, 1e-9):.1f}"
            rows.append(row)
        print(f"device {device}: examples per second (n = {args.n}, deletion {args.operation}; "
              f"total {total:.1f} s incl. model load)")
        print(format_table(rows, ["explainer", "n", "explain"] + metrics))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
