"""``python -m core.train``: train a classifier with a VMASK, VAT or E-VarM method and save it.

Example::

    python -m core.train --dataset movie-snippets --model cnn --method vmask --epochs 10
    python -m core.train --model lstm --method vat --vat-iterations 1
    python -m core.train --model minilm --method evarm --max-train 1000 --epochs 2
    python -m core.train --encoder ~/models/bert-base-uncased --method vmask   # minilm on your own encoder
    python -m core.train --csv my.csv --model lstm --method base --device cuda
    python -m core.train --model dattn --csv my_pairs.csv      # a sentence-pair model (text_a,text_b,label)
    python -m core.train --model dattn --dataset trec6-answer-type-pairs
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Sequence

from core import paths
from core.cli_common import run_command
from core.data.datasets import list_datasets, load_user_csv
from core.models.architectures import architecture_names, architecture_spec, names_where
from core.training import METHODS, TrainSettings, train
from core.training.settings import plain_model_name


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one option per :class:`TrainSettings` field that users set)."""
    parser = argparse.ArgumentParser(prog="python -m core.train", description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", default="movie-snippets", help=f"bundled dataset: {', '.join(list_datasets())}")
    source.add_argument("--csv", help="your own CSV with columns text,label (split column optional); "
                        "for --model dattn: text_a,text_b,label")
    parser.add_argument("--model", dest="architecture", choices=architecture_names(trainable=True),
                        help="default cnn (with --encoder: minilm); minilm: the transformer classifier, MiniLM by "
                        "default; dattn: the decomposable attention sentence-pair model (method base only)")
    parser.add_argument("--method", choices=METHODS, default="base")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--beta-start", type=float, default=1.0, help="VMASK: initial weight of -H(q(R|x))")
    parser.add_argument("--beta-end", type=float, default=0.01, help="VMASK: floor (step) / final weight (geometric)")
    parser.add_argument("--beta-schedule", choices=("step", "geometric"), default="step",
                        help="VMASK: step = the authors' scripts (minus --beta-decrement every --beta-every "
                        "epochs); geometric = log-linear from start to end over the run")
    parser.add_argument("--beta-decrement", type=float, default=0.099, help="VMASK step schedule: decrement")
    parser.add_argument("--beta-every", type=int, default=10, help="VMASK step schedule: epochs between decrements")
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
    parser.add_argument("--encoder", help="the transformer classifier's encoder: a local Hugging Face folder or a "
                        "model name in the local Hugging Face cache (BERT, RoBERTa, DistilBERT, ...; never "
                        "downloaded); implies --model minilm; default: the packaged MiniLM")
    parser.add_argument("--max-train", type=int, help="train on a seeded subset of this size")
    parser.add_argument("--max-eval", type=int, help="evaluate on seeded dev/test subsets of this size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--name", help="checkpoint name (default ARCH-METHOD-DATASET)")
    parser.add_argument("--output-dir", help="where to save (default $MASKLENS_HOME/models)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing model of that name (else an existing name is refused)")
    parser.add_argument("--fp16", dest="half_precision", action="store_true", help="store float16 weights")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Train as the arguments say; prints the metrics and the checkpoint path."""
    args = build_parser().parse_args(argv)
    args.architecture = args.architecture or default_architecture(args.encoder)
    if architecture_spec(args.architecture).pair:
        return train_pair_model(args)
    names = {f.name for f in fields(TrainSettings)}
    settings = TrainSettings(**{k: v for k, v in vars(args).items() if k in names and v is not None})
    data = load_user_csv(args.csv) if args.csv else None
    result = train(settings, data=data, output_dir=args.output_dir, progress=not args.no_progress,
                   overwrite=args.overwrite)
    plain = plain_model_name(settings.architecture, settings.method,
                             data.name if data is not None else settings.dataset, settings.encoder)
    if args.name is None and result.model.name != plain:
        print(f"note: the default name {plain} is taken (a shipped model), so this model is saved as "
              f"{result.model.name}; --name chooses another", file=sys.stderr)
    summary = {"name": result.model.name, "path": str(result.path), "stopped_early": result.stopped_early,
               **result.metrics}
    print_summary(summary, args.format)
    return 0


def default_architecture(encoder: str | None) -> str:
    """``--model`` when it is not given: ``cnn``, or with ``--encoder`` the family that takes one (minilm)."""
    return names_where(lambda spec: spec.custom_encoder and not spec.pair)[0] if encoder else "cnn"


def train_pair_model(args: argparse.Namespace) -> int:
    """The ``--model dattn`` branch: DAttn on a pair CSV or the bundled pair task (method base only)."""
    from core.data.pairs import PAIR_DATASETS, TREC_PAIRS, load_pair_csv, load_pair_dataset
    from core.training.pairs import PairTrainSettings, train_dattn

    methods = architecture_spec(args.architecture).methods
    if args.encoder:
        raise ValueError(f"--encoder applies to the transformer classifier (--model {default_architecture(True)}), "
                         f"not --model {args.architecture}")
    if args.method not in methods:
        raise ValueError(f"--model {args.architecture} trains with method {' or '.join(methods)} only, "
                         f"not {args.method!r}")
    if args.csv:
        data = load_pair_csv(args.csv)
    else:
        dataset = TREC_PAIRS if args.dataset == "movie-snippets" else args.dataset  # the parser's one-text default
        if dataset not in PAIR_DATASETS:
            raise ValueError(f"--model {args.architecture} needs a pair dataset ({', '.join(PAIR_DATASETS)}) or "
                             f"--csv with columns text_a,text_b,label; {dataset!r} has one text per example")
        data = load_pair_dataset(dataset)
    chosen = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
              "device": args.device, "half_precision": args.half_precision,
              "name": args.name or f"{args.architecture}-{data.name}"}
    settings = PairTrainSettings(**{k: v for k, v in chosen.items() if v is not None})
    model, metrics = train_dattn(data, settings, output_dir=args.output_dir, overwrite=args.overwrite)
    path = Path(args.output_dir or paths.user_models_dir()) / settings.name
    print_summary({"name": model.name, "path": str(path), **metrics}, args.format)
    return 0


def print_summary(summary: dict, output_format: str) -> None:
    """Print a run's summary as JSON or as ``key: value`` lines."""
    if output_format == "json":
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    sys.exit(run_command(main))
