"""``python -m core.evaluate``: score explainers with faithfulness metrics on a model's test set.

Example::

    python -m core.evaluate --model cnn-vmask-movie-snippets --explainers vmask,zero,marginal,lime \\
        --metrics aopc,posthoc,degradation,auc_rep --n 500 --format table

Explanations and metric results are kept under ``$MASKLENS_HOME/evaluations`` (see
:mod:`core.evaluation.store`): a second run is served from there, and an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Sequence

from core.cli_common import (add_engine_arguments, check_params, data_from_options, engine_from, format_table,
                             parse_params, run_cli)

TABLE_K = (1, 5, 10)


def _number(value, digits: int = 4) -> str | None:
    if value is None:
        return None
    value = float(value)
    return "nan" if math.isnan(value) else f"{value:.{digits}f}"


def table(records: list[dict]) -> str:
    """One row per explainer: n, AOPC, post-hoc accuracy at k = 1, 5, 10, degradation score, AUC_rep,
    comprehensiveness and sufficiency (ERASER, means over their thresholds), seconds."""
    k_max = next((r["metrics"]["aopc"]["k_max"] for r in records if "k_max" in r["metrics"].get("aopc", {})), None)
    aopc_column = f"AOPC@{k_max}" if k_max else "AOPC"
    columns = ["explainer", "n", aopc_column] + [f"posthoc@{k}" for k in TABLE_K] + [
        "degradation", "AUC_rep", "comprehensiveness", "sufficiency", "seconds"]
    rows = []
    for record in records:
        metrics = record["metrics"]
        posthoc = metrics.get("posthoc", {})
        row = {"explainer": record["explainer"], "n": record["n"],
               aopc_column: _number(metrics.get("aopc", {}).get("value")),
               "degradation": _number(metrics.get("degradation", {}).get("score")),
               "AUC_rep": _number(metrics.get("auc_rep", {}).get("value")),
               "comprehensiveness": _number(metrics.get("comprehensiveness", {}).get("value")),
               "sufficiency": _number(metrics.get("sufficiency", {}).get("value")),
               "seconds": f"{record['seconds']:.2f}"}
        for k in TABLE_K:
            row[f"posthoc@{k}"] = _number(posthoc.get(k))
        if record.get("skipped"):
            row["n"] = "skipped"
        rows.append(row)
    return format_table(rows, columns)


def _jsonable(value):
    """NaN/inf -> None so the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def build_parser() -> argparse.ArgumentParser:
    from core.evaluation.runner import DELETIONS, EXPLAINER_NAMES, METRICS

    parser = argparse.ArgumentParser(prog="python -m core.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="registry name, checkpoint directory, or hf:<folder or cached "
                        "name> for any Hugging Face sequence classifier (offline)")
    parser.add_argument("--explainers", default=",".join(EXPLAINER_NAMES), help="comma-separated explainer names")
    parser.add_argument("--metrics", default=",".join(METRICS), help=f"comma-separated: {', '.join(METRICS)}")
    parser.add_argument("--n", type=int, default=500, help="test examples sampled (seeded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--operation", choices=(*DELETIONS, "pad"), default="remove",
                        help="how AOPC and degradation delete a word: remove (the papers), zero (zero embedding), "
                             "unk (unknown word), mlm (a word sampled from the shipped masked LM); sentence-pair "
                             "models: remove or pad (the GMASK authors' code: the word's ids become padding)")
    parser.add_argument("--aopc-k", type=int, default=10, help="K of AOPC (VMASK Table 4 uses 5)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--ranking", choices=("signed", "magnitude"), default="signed",
                        help="order words by score (signed) or by absolute score (magnitude) for the metrics")
    parser.add_argument("--unit", choices=("probability", "accuracy"), default="probability",
                        help="aopc/posthoc: probability of the predicted class, or accuracy against gold labels")
    parser.add_argument("--evaluator", help="a model that classifies the perturbed texts (default: the explained "
                        "model; the VAT paper uses a separate LSTM-base, e.g. lstm-base-movie-snippets)")
    parser.add_argument("--csv", help="the model's own data (text,label CSV) when it was trained on a CSV whose "
                        "test split its checkpoint does not hold; checked against the model's data fingerprint. "
                        "For a Hugging Face classifier (hf:...), any CSV to evaluate it on")
    parser.add_argument("--dataset", help="a bundled dataset to evaluate a Hugging Face classifier (hf:...) on, "
                        "e.g. movie-snippets; its test split is sampled")
    parser.add_argument("--param", action="append", metavar="EXPLAINER.NAME=VALUE",
                        help="any explainer parameter, e.g. lime.n_samples=200 (repeatable; part of the store key)")
    add_engine_arguments(parser)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--format", choices=("json", "table"), default="table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, evaluate, print; returns the exit status."""
    from core.evaluation.runner import check_arguments, evaluate

    args = build_parser().parse_args(argv)
    explainers, metrics = check_arguments(args.explainers.split(","), args.metrics.split(","), args.n)
    params = parse_params(args.param)
    check_params(params, explainers)
    engine = engine_from(args)
    try:
        records = evaluate(args.model, explainers=explainers, metrics=metrics, n=args.n, seed=args.seed, params=params,
                           device=args.device, progress=not args.no_progress, operation=args.operation,
                           aopc_k=args.aopc_k, data=data_from_options(args.csv, args.dataset), ranking=args.ranking,
                           unit=args.unit, evaluator=args.evaluator, engine=engine)
    finally:
        engine.close()
    if args.format == "json":
        print(json.dumps(_jsonable(records), indent=2))
    else:
        print(table(records))
    for record in records:
        if record.get("skipped"):
            print(f"skipped {record['explainer']}: {record['skipped']}", file=sys.stderr)
        elif record.get("errors"):
            print(f"{record['explainer']}: {len(record['errors'])} example(s) could not be explained",
                  file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
