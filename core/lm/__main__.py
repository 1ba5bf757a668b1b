"""``python -m core.lm``: train the shipped masked LM, or probe a likelihood model.

    python -m core.lm train [--steps N] [--layers K] [--batch-size B] [--max-minutes M] [--device auto]
                            [--threads T] [--out assets/mlm]
    python -m core.lm probe "the movie was [MASK] ." [--model mlm|unigram|uniform|PATH] [--dataset NAME] [-k 5]

The shipped ``assets/mlm`` was built with
``python -m core.lm train --steps 1600 --layers 6 --batch-size 64 --lr 3e-4 --threads 2 --max-minutes 26``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from core.cli_common import run_cli


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m core.lm", description="MaskLens likelihood models.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="fine-tune the shipped MLM head on the bundled train splits")
    train.add_argument("--steps", type=int, default=1600, help="optimizer steps (default 1600)")
    train.add_argument("--layers", type=int, default=6, help="top transformer layers to train, 0-6 (default 6)")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--lr", type=float, default=3e-4)
    train.add_argument("--max-minutes", type=float, default=None, help="stop training after this many minutes")
    train.add_argument("--device", default="auto")
    train.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--eval-limit", type=int, default=None, help="held-out examples to score (default all)")
    train.add_argument("--out", default=None, help="checkpoint directory (default assets/mlm)")
    train.add_argument("--no-save", action="store_true", help="train and evaluate only")
    probe = sub.add_parser("probe", help="print the top fills of a [MASK] in a text")
    probe.add_argument("text", help='text with one [MASK], e.g. "the movie was [MASK] ."')
    probe.add_argument("--model", default="mlm", help="mlm (shipped), uniform, unigram, or a masked-LM path")
    probe.add_argument("--dataset", default=None, help="dataset for unigram/uniform")
    probe.add_argument("-k", type=int, default=5)
    probe.add_argument("--device", default="auto")
    args = parser.parse_args(argv)

    if args.command == "train":
        import torch

        from core.lm import train_mlm

        if args.threads:
            torch.set_num_threads(args.threads)
        out = None if args.no_save else (args.out or train_mlm.DEFAULT_DIR)
        train_mlm.train(steps=args.steps, layers=args.layers, batch_size=args.batch_size, lr=args.lr,
                        max_minutes=args.max_minutes, device=args.device, out=out, seed=args.seed,
                        eval_limit=args.eval_limit)
        return 0

    from core.lm.mlm import load_likelihood
    from core.lm.train_mlm import split_probe

    words, position = split_probe(args.text)
    model = load_likelihood(args.model, dataset=args.dataset, device=args.device)
    row = model.distribution(words, [position])[0]
    order = row.argsort()[::-1][: args.k]
    print(" ".join(words))
    for rank, j in enumerate(order, 1):
        print(f"{rank}. {model.vocabulary[j]:<15} {row[j]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
