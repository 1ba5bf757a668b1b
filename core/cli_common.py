"""Small helpers shared by the ``python -m core.*`` command lines."""

from __future__ import annotations

import sys
from typing import Callable, Sequence


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main`` and turn expected errors into a one-line message and exit status 2."""
    from core.checkpoints import CheckpointError
    from core.data.datasets import DatasetError
    from core.registry import ModelNotFoundError

    try:
        return main(argv)
    except (ValueError, CheckpointError, DatasetError, ModelNotFoundError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def format_table(rows: list[dict], columns: Sequence[str]) -> str:
    """Plain-text table of ``rows`` (dicts) with the given columns, left-aligned."""
    cells = [[str(col) for col in columns]] + [["" if r.get(c) is None else str(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
