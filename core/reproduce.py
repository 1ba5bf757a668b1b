"""``python -m core.reproduce``: measure the papers' headline comparisons and write the reproduction report.

Example::

    python -m core.reproduce                 # every comparison; writes assets/reproduction/report.{json,md}
    python -m core.reproduce --quick --out /tmp/report    # CI-sized; its numbers are not claimed
    python -m core.reproduce --only vat-vs-att-attention-aopc5 --n 200

The models of each comparison are the shipped seeds under ``assets/seeds`` (rebuild them with
``python scripts/train_shipped.py``); explanations are kept in the evaluation store, so a rerun
measures only what is missing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Sequence

from core.cli_common import run_cli


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    from core.reproduction.comparisons import COMPARISONS

    parser = argparse.ArgumentParser(prog="python -m core.reproduce", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small CI-sized run (numbers not claimed)")
    parser.add_argument("--only", help=f"comma-separated comparison ids: {', '.join(c.id for c in COMPARISONS)}")
    parser.add_argument("--n", type=int, help="test examples per comparison (default 500; quick 15)")
    parser.add_argument("--seeds", help="comma-separated training seeds (default 0,1,2; quick 0)")
    parser.add_argument("--replicates", type=int, help="bootstrap replicates (default 2000; quick 200)")
    parser.add_argument("--out", help="folder for report.json and report.md (default assets/reproduction)")
    parser.add_argument("--device", default="auto")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparisons, write the report, print its Markdown."""
    from core.reproduction.comparisons import COMPARISONS
    from core.reproduction.report import REPORT_DIR, ReportSettings, markdown, run_report, write_report

    args = build_parser().parse_args(argv)
    settings = ReportSettings.quick_run() if args.quick else ReportSettings()
    if args.only:
        ids = tuple(i.strip() for i in args.only.split(",") if i.strip())
        unknown = [i for i in ids if i not in {c.id for c in COMPARISONS}]
        if unknown or not ids:
            raise ValueError(f"unknown comparison id(s) {unknown or ids}; see --help for the ids")
        settings = replace(settings, ids=ids)
    if args.n is not None:
        settings = replace(settings, n=_positive(args.n, "--n"))
    if args.replicates is not None:
        if args.replicates < 10:  # the bootstrap's own floor, checked before any measurement runs
            raise ValueError(f"--replicates must be at least 10, got {args.replicates}")
        settings = replace(settings, replicates=args.replicates)
    if args.seeds is not None:
        settings = replace(settings, seeds=_seeds(args.seeds))
    report = run_report(settings, device=args.device, on_progress=lambda message: print(f"... {message}",
                                                                                          file=sys.stderr, flush=True))
    json_path, md_path = write_report(report, args.out or REPORT_DIR)
    print(markdown(report))
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


def _seeds(text: str) -> tuple[int, ...]:
    """``--seeds 0,1,2`` as (0, 1, 2); ValueError naming the option for anything else."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() for part in parts):
        raise ValueError(f"--seeds must be comma-separated non-negative integers such as 0,1,2, got {text!r}")
    return tuple(int(part) for part in parts)


def _positive(value: int, option: str) -> int:
    if value < 1:
        raise ValueError(f"{option} must be at least 1, got {value}")
    return value


if __name__ == "__main__":
    sys.exit(run_cli(main))
