"""``python -m core.models list [--format json|table]``: the model registry from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from core.cli_common import format_table, run_cli
from core.registry import list_models

COLUMNS = ("name", "dataset", "architecture", "method", "test_accuracy", "pair", "source", "path")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and print the registry; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m core.models", description="List MaskLens models.")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list shipped and user-trained models")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.add_argument("--no-user", action="store_true", help="only shipped models")
    args = parser.parse_args(argv)
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
