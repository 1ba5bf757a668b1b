"""``python -m core.models list|register``: the model registry from the shell.

- ``list [--format json|table] [--no-user]``: shipped and user models.
- ``register NAME SOURCE [--max-len N] [--overwrite]``: add a Hugging Face sequence classifier
  (a local folder, or a hub name already in the local cache; ``hf:`` prefix optional) to the user
  models under ``NAME``, without copying its weights (:func:`core.models.hf_classifier.register_hf_model`);
  an ``hf-pair:SOURCE`` registers a sequence-pair classifier (a cross-encoder) instead
  (:func:`core.models.hf_pair.register_hf_pair_model`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from core.cli_common import format_table, run_cli
from core.models.hf_classifier import DEFAULT_MAX_LEN, register_hf_model
from core.models.hf_pair import PREFIX as PAIR_PREFIX
from core.models.hf_pair import register_hf_pair_model
from core.registry import list_models

COLUMNS = ("name", "dataset", "architecture", "method", "test_accuracy", "pair", "source", "path")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and print the registry; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m core.models", description="List MaskLens models.")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list shipped and user-trained models")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.add_argument("--no-user", action="store_true", help="only shipped models")
    adding = sub.add_parser("register", help="register a Hugging Face sequence classifier (offline) under a name")
    adding.add_argument("name", help="the name pages and commands will know it by")
    adding.add_argument("source", help="a local folder (save_pretrained) or a hub name already in the local cache; "
                                       "hf-pair:SOURCE for a sequence-pair classifier")
    adding.add_argument("--max-len", type=int, default=DEFAULT_MAX_LEN,
                        help=f"most word pieces read, special tokens included (default {DEFAULT_MAX_LEN})")
    adding.add_argument("--overwrite", action="store_true", help="replace a registered model of that name")
    args = parser.parse_args(argv)
    if args.command == "register":
        register = register_hf_pair_model if args.source.startswith(PAIR_PREFIX) else register_hf_model
        target = register(args.name, args.source, max_len=args.max_len, overwrite=args.overwrite)
        print(f"registered {args.name} ({args.source}) at {target}")
        return 0
    problems: list[str] = []
    records = [r.to_dict() for r in list_models(include_user=not args.no_user, problems=problems)]
    if args.format == "json":
        print(json.dumps(records, indent=2))
    else:
        for record in records:
            acc = record["test_accuracy"]
            record["test_accuracy"] = None if acc is None else f"{100 * acc:.2f}%"
        print(format_table(records, COLUMNS) if records else "no models found")
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
