"""``python -m core <verb> ...``: one command line for every MaskLens verb.

::

    python -m core models list
    python -m core train --dataset trec6 --model cnn --method vmask
    python -m core explain --model cnn-vmask-movie-snippets --text "a gripping film"
    python -m core explainers --kind pair
    python -m core evaluate --model cnn-vmask-movie-snippets --explainers zero,lime --n 100 [--engine ray]
    python -m core explain-batch --model cnn-vmask-movie-snippets --explainers zero --out explanations.jsonl
    python -m core lm probe "the movie was [MASK] ."
    python -m core reproduce --quick

Each verb is the module of the same job (``python -m core.train`` and the others keep working,
with the same options); this entry point only dispatches, so a verb's ``--help`` is its own.
"""

from __future__ import annotations

import importlib
import sys
from typing import Sequence

from core.cli_common import run_cli, run_command

VERBS = {
    "models": ("core.models.__main__", "list the shipped and user models"),
    "train": ("core.train", "train a classifier with a VMASK, VAT or E-VarM method"),
    "explain": ("core.explain.__main__", "explain one prediction with several methods"),
    "explainers": ("core.explain.catalog", "list the explainers: inputs, needs and parameters with help"),
    "evaluate": ("core.evaluate", "faithfulness metrics of explainers on a test set (resumable)"),
    "explain-batch": ("core.explain.batch", "explain a whole split or CSV into JSON Lines/Parquet (local or Ray)"),
    "lm": ("core.lm.__main__", "train the shipped masked LM or probe a likelihood model"),
    "reproduce": ("core.reproduce", "the papers' comparisons over seeds, with intervals and verdicts"),
}


def usage() -> str:
    """The verb list."""
    width = max(map(len, VERBS))
    lines = ["usage: python -m core <verb> [options]   (python -m core <verb> --help for a verb's options)", "",
             "verbs:"] + [f"  {verb.ljust(width)}  {text}" for verb, (_, text) in VERBS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the verb named first in ``argv`` with the rest of the arguments; returns its exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    verb, rest = args[0], args[1:]
    if verb not in VERBS:
        print(f"error: unknown verb {verb!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return run_cli(importlib.import_module(VERBS[verb][0]).main, rest)


if __name__ == "__main__":
    sys.exit(run_command(main))
