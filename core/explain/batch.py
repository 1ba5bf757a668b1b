"""``python -m core explain-batch``: explain a whole dataset split (or a user CSV), locally or on Ray.

::

    python -m core explain-batch --model cnn-vmask-movie-snippets --explainers zero,lime --out expl.jsonl
    python -m core explain-batch --model my-sentiment --dataset movie-snippets --split test --n 1000 \\
        --explainers marginal --engine ray --address auto --workers 8 --gpus-per-worker 1 --out expl.parquet

The explanations go through the evaluation store (:mod:`core.evaluation.store`, keyed by model
weights, explainer, parameters and example id), so an interrupted run resumes, a later
``core.evaluate`` with the same settings reuses them, and the output file is written from the
store at the end: JSON Lines (``.jsonl``) or Parquet (``.parquet``), one row per (example,
explainer) with the explanation record's fields (``words``, ``scores``, ``target``, ``probs``,
``params``, ``details``...) plus ``id``, ``text``, ``label`` and ``explainer``. Written atomically.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from core.cli_common import add_engine_arguments, check_params, data_from_options, engine_from, parse_params, run_cli

SPLITS = ("train", "dev", "test")
FORMATS = {".jsonl": "jsonl", ".parquet": "parquet"}


def split_rows(model, data, split: str, n: int | None, seed: int) -> tuple[list[str], dict[str, str], dict[str, int]]:
    """(ids, text of id, label of id) of a split of the model's data; ``n`` seeded ids of it when given."""
    from core.data.model_data import model_dataset
    from core.evaluation.common import sample_ids

    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    part = getattr(model_dataset(model.config, model.path, data), split)
    ids = list(part.ids) if n is None else sample_ids(list(part.ids), n, seed)
    return ids, dict(zip(part.ids, part.texts)), dict(zip(part.ids, part.labels))


def explain_dataset(model_name: str, explainers: Sequence[str], data: Any = None, split: str = "test",
                    n: int | None = None, seed: int = 0, params: dict[str, dict[str, Any]] | None = None,
                    store: Any = None, engine: Any = "local", device: str = "auto",
                    on_stored: Any = None) -> list[dict[str, Any]]:
    """Explain every example of a split (or ``n`` seeded ones) with each explainer; returns the rows.

    Args:
        model_name: registry name, checkpoint directory or ``hf:`` source.
        data: the data (default: the model's own, as :func:`core.data.model_data.model_dataset` finds it).
        engine: ``"local"``, ``"ray"`` or an engine object (:mod:`core.evaluation.engines`).
        on_stored: called with 1 after each new explanation (a progress bar).

    Returns:
        One dict per (example, explainer) with the explanation's fields plus ``id``, ``text``,
        ``label``, ``explainer`` (examples an explainer could not explain get ``error``).
    """
    from core.evaluation.common import explainer_params, fill_explanations
    from core.evaluation.engines import make_engine
    from core.evaluation.store import EvaluationStore
    from core.lm.mlm import load_likelihood
    from core.models import load_model

    model = load_model(model_name, device=device)
    ids, text_of, label_of = split_rows(model, data, split, n, seed)
    store = store if store is not None else EvaluationStore()
    workers, loaded = make_engine(engine), {}

    def likelihood():  # loaded once, when an explainer first needs it
        if "mlm" not in loaded:
            loaded["mlm"] = load_likelihood("mlm", device=device)
        return loaded["mlm"]

    rows = []
    try:
        for name in explainers:
            key_params = explainer_params(name, seed, (params or {}).get(name), model)
            file, _ = fill_explanations(
                store, model, name, key_params, ids, text_of, likelihood, on_stored=on_stored, engine=workers,
                model_source=str(model_name))
            for i in ids:
                found = file.get(i)
                extra = found if found is not None else {"error": file.error(i)}
                rows.append({"id": i, "text": text_of[i], "label": int(label_of[i]), "explainer": name, **extra})
    finally:
        if workers is not engine:
            workers.close()
    return rows


def write_rows(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows as JSON Lines or Parquet (by the file's extension), atomically."""
    from core.fileio import atomic_write_bytes

    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"the output must end with {' or '.join(FORMATS)}, got {path.name!r}")
    if kind == "jsonl":
        data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    else:
        import pandas as pd

        table = pd.DataFrame([{k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()}
                              for row in rows])
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)  # params/details as JSON strings: their keys vary by explainer
        data = buffer.getvalue()
    atomic_write_bytes(path, data)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, explain the split, write the file; returns the exit status."""
    from tqdm.auto import tqdm

    from core.explain.registry import explainers_for

    parser = argparse.ArgumentParser(prog="python -m core explain-batch", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="registry name, checkpoint directory or hf:<folder or name>")
    parser.add_argument("--explainers", default="zero", help="comma-separated explainer names")
    parser.add_argument("--out", required=True, help="output file: .jsonl or .parquet")
    parser.add_argument("--split", default="test", choices=SPLITS)
    parser.add_argument("--n", type=int, help="explain n seeded examples of the split (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", help="a bundled dataset (for a Hugging Face classifier)")
    parser.add_argument("--csv", help="a text,label CSV (the model's own data, or any for a Hugging Face classifier)")
    parser.add_argument("--param", action="append", metavar="EXPLAINER.NAME=VALUE")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-progress", action="store_true")
    add_engine_arguments(parser)
    args = parser.parse_args(argv)
    explainers = [e.strip() for e in args.explainers.split(",") if e.strip()]
    unknown = [e for e in explainers if e not in explainers_for("text")]
    if unknown:
        raise ValueError(f"unknown explainer {', '.join(unknown)}; choose from {', '.join(explainers_for('text'))}")
    if args.n is not None and args.n < 1:
        raise ValueError(f"--n must be a positive integer, got {args.n}")
    if Path(args.out).suffix.lower() not in FORMATS:
        raise ValueError(f"--out must end with {' or '.join(FORMATS)}, got {args.out!r}")
    params = parse_params(args.param)
    check_params(params, explainers)
    engine = engine_from(args)
    bar = tqdm(disable=args.no_progress, desc="explain", unit="example")
    try:
        rows = explain_dataset(args.model, explainers, data=data_from_options(args.csv, args.dataset), split=args.split,
                               n=args.n, seed=args.seed, params=params, engine=engine, device=args.device,
                               on_stored=bar.update)
    finally:
        bar.close()
        engine.close()
    path = write_rows(rows, args.out)
    print(f"{len(rows)} explanations ({len(explainers)} explainer(s)) written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
