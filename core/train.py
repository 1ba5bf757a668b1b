"""``python -m core.train``: train a classifier with a VMASK, VAT or E-VarM method and save it.

Example::

    python -m core.train --dataset movie-snippets --model cnn --method vmask --epochs 10
    python -m core.train --model lstm --method vat --vat-iterations 1
    python -m core.train --model minilm --method evarm --max-train 1000 --epochs 2
    python -m core.train --csv my.csv --model lstm --method base --device cuda
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from typing import Sequence

from core.cli_common import run_cli
from core.data.datasets import list_datasets, load_user_csv
from core.models.factory import ARCHITECTURES
from core.training import METHODS, TrainSettings, train


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one option per :class:`TrainSettings` field that users set)."""
    parser = argparse.ArgumentParser(prog="python -m core.train", description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", default="movie-snippets", help=f"bundled dataset: {', '.join(list_datasets())}")
    source.add_argument("--csv", help="your own CSV with columns text,label (split column optional)")
    parser.add_argument("--model", dest="architecture", choices=ARCHITECTURES, default="cnn")
    parser.add_argument("--method", choices=METHODS, default="base")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--beta-start", type=float, default=1.0, help="VMASK: initial weight of -H(q(R|x))")
    parser.add_argument("--beta-end", type=float, default=0.01, help="VMASK: final weight after annealing")
    parser.add_argument("--iba-beta", type=float, default=1e-3, help="IBA: weight of the KL bound")
    parser.add_argument("--l2-weight", type=float, default=1e-4)
    parser.add_argument("--tau", type=float, default=0.5, help="Gumbel-softmax temperature")
    parser.add_argument("--l2x-k", type=int, default=10)
    parser.add_argument("--vib-beta", type=float, default=0.1,
                        help="VAT: weight of KL[p(z|R)||N(0,I)]; E-VarM: weight of -H(q(r|x)) (eq. 8)")
    parser.add_argument("--vat-iterations", type=int,
                        help="VAT compressor/learner rounds after the attention warm-up (default 1 lstm, 2 minilm)")
    parser.add_argument("--vat-phase-epochs", type=int, default=1, help="VAT: epochs per compressor/learner phase")
    parser.add_argument("--supcon-tau", type=float, default=0.5, help="E-VarM: contrastive temperature (eq. 10)")
    parser.add_argument("--minilm-trainable-layers", type=int,
                        help="MiniLM: fine-tune only the top N layers (smaller checkpoints)")
    parser.add_argument("--max-train", type=int, help="train on a seeded subset of this size")
    parser.add_argument("--max-eval", type=int, help="evaluate on seeded dev/test subsets of this size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--name", help="checkpoint name (default ARCH-METHOD-DATASET)")
    parser.add_argument("--output-dir", help="where to save (default $MASKLENS_HOME/models)")
    parser.add_argument("--fp16", dest="half_precision", action="store_true", help="store float16 weights")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Train as the arguments say; prints the metrics and the checkpoint path."""
    args = build_parser().parse_args(argv)
    names = {f.name for f in fields(TrainSettings)}
    settings = TrainSettings(**{k: v for k, v in vars(args).items() if k in names and v is not None})
    data = load_user_csv(args.csv) if args.csv else None
    result = train(settings, data=data, output_dir=args.output_dir, progress=not args.no_progress)
    summary = {"name": result.model.name, "path": str(result.path), "stopped_early": result.stopped_early,
               **result.metrics}
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
