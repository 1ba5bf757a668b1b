"""Small helpers shared by the ``python -m core.*`` command lines."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Sequence


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main`` and turn expected errors into a one-line message and exit status 2."""
    from core.checkpoints import CheckpointError
    from core.data.datasets import DatasetError
    from core.registry import ModelNotFoundError

    try:
        return main(argv)
    except (ValueError, CheckpointError, DatasetError, ModelNotFoundError, FileNotFoundError, ConnectionError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run_command(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """What a ``python -m core...`` process runs: :func:`core.threads.apply_thread_policy`, then ``main``
    through :func:`run_cli` (a bad ``$MASKLENS_THREADS`` is a one-line error and exit status 2)."""
    from core.threads import apply_thread_policy

    def policy_then_main(args: Sequence[str] | None) -> int:
        apply_thread_policy()
        return main(args)

    return run_cli(policy_then_main, argv)


def format_table(rows: list[dict], columns: Sequence[str]) -> str:
    """Plain-text table of ``rows`` (dicts) with the given columns, left-aligned."""
    cells = [[str(col) for col in columns]] + [["" if r.get(c) is None else str(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def parse_params(items: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """``--param`` values ``["lime.n_samples=200", "marginal.sigma=1e-4"]`` as
    ``{"lime": {"n_samples": 200}, "marginal": {"sigma": 0.0001}}``.

    A value is read as JSON when it parses (numbers, ``true``/``false``, ``null``, quoted strings,
    lists), else kept as the plain string.

    Raises:
        ValueError: an item that is not ``explainer.name=value``.
    """
    params: dict[str, dict[str, Any]] = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        method, dot, name = key.partition(".")
        if not (sep and dot and method.strip() and name.strip()):
            raise ValueError(f"--param {item!r} is not of the form explainer.name=value (e.g. lime.n_samples=200)")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        params.setdefault(method.strip(), {})[name.strip()] = value
    return params


def check_params(params: dict[str, dict[str, Any]], methods: Sequence[str]) -> None:
    """ValueError for a ``--param`` of a method that is not asked for, or a name that method does not take."""
    from core.explain.registry import parameter_names

    for method, values in params.items():
        if method not in methods:
            raise ValueError(f"--param {method}.*: {method!r} is not among the methods ({', '.join(methods)})")
        accepted = parameter_names(method)
        unknown = sorted(set(values) - accepted)
        if unknown:
            raise ValueError(f"--param {method}.{unknown[0]}: {method} takes {', '.join(sorted(accepted))}")


def add_engine_arguments(parser) -> None:
    """``--engine local|ray`` and the Ray options (:mod:`core.evaluation.engines`)."""
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="where explanations are computed: this process, or Ray actors (pip install -r "
                             "requirements-ray.txt); the same numbers either way")
    parser.add_argument("--address", help="ray: a running cluster (auto, or ray://host:port); default: start a "
                        "local Ray for this run")
    parser.add_argument("--workers", type=int, default=2, help="ray: actors, one CPU each (default 2)")
    parser.add_argument("--gpus-per-worker", type=float, default=0.0,
                        help="ray: GPUs per actor (0: CPU; 0.5: two actors share a GPU)")


def engine_from(args):
    """The engine the parsed ``--engine`` options ask for (caller closes it)."""
    from core.evaluation.engines import make_engine

    if args.engine == "local":
        return make_engine("local")
    return make_engine("ray", address=args.address, workers=args.workers, gpus_per_worker=args.gpus_per_worker)


def data_from_options(csv_path: str | None, dataset: str | None = None):
    """The data ``--csv FILE`` or ``--dataset NAME`` names (None when neither is given)."""
    if csv_path is not None and dataset is not None:
        raise ValueError("give --csv or --dataset, not both")
    from core.data.datasets import load_dataset, load_user_csv

    if dataset is not None:
        return load_dataset(dataset)
    return load_user_csv(csv_path) if csv_path is not None else None
