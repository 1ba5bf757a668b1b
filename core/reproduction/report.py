"""Run every comparison and write the reproduction report (JSON + Markdown).

:func:`run_report` measures each :data:`~core.reproduction.comparisons.COMPARISONS` row (or the
``--quick`` subset), computes its paired bootstrap interval and verdict, and returns the report
dict; :func:`write_report` writes ``report.json`` and ``report.md``. The shipped report lives in
``assets/reproduction/`` and the README's "papers' findings" table is its Markdown.
"""

from __future__ import annotations

import json
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from core import paths
from core.fileio import atomic_write_bytes, atomic_write_json
from core.reproduction.bootstrap import paired_interval, verdict
from core.reproduction.comparisons import COMPARISONS, QUICK_IDS, Comparison
from core.reproduction.masks import mask_markdown, mask_summary
from core.reproduction.measure import Context, explainer_values, model_values, seed_checkpoints, statistic_for

REPORT_DIR = paths.ASSETS_DIR / "reproduction"


@dataclass(frozen=True)
class ReportSettings:
    """What a report run uses (stored in the report).

    Attributes:
        n: test examples per comparison (a row's ``options["n"]`` wins; accuracy uses the whole test split).
        seeds: training seeds of the ``models`` rows.
        replicates: bootstrap replicates.
        sample_seed: seed of the example sample, of stochastic explainers and of the bootstrap.
        lime_samples: LIME's samples (``None``: the explainer's default, 500).
        explainer_params: per explainer, constructor parameters (they enter the store keys).
        ids: comparison ids to run (``None``: all).
        quick: a CI-sized run whose numbers are not claimed.
    """

    n: int = 500
    seeds: tuple[int, ...] = (0, 1, 2)
    replicates: int = 2000
    sample_seed: int = 0
    lime_samples: int | None = None
    ids: tuple[str, ...] | None = None
    quick: bool = False
    explainer_params: dict[str, dict[str, Any]] | None = None

    @classmethod
    def quick_run(cls) -> "ReportSettings":
        """The ``--quick`` settings: 5 cheap rows, 12 examples, 1 seed, 200 replicates, LIME with 50 samples,
        GMASK with 20 steps of 20 samples."""
        return cls(n=12, seeds=(0,), replicates=200, lime_samples=50, ids=QUICK_IDS, quick=True,
                   explainer_params={"gmask": {"steps": 20, "n_samples": 20}, "lime": {"n_samples": 50}})


def run_report(settings: ReportSettings = ReportSettings(), store=None, device: str = "auto",
               on_progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure the comparisons and return the report (see :func:`write_report` for the files).

    Returns:
        ``{"settings", "environment", "rows": [...], "masks"}``; each row holds the comparison, both
        sides' per-seed means with their mean and standard deviation over seeds, the paired
        difference with its 95% interval (across seeds and examples, and within each seed), the
        verdict, the example count and seconds; ``masks`` is :func:`~core.reproduction.masks.mask_summary`
        for a full run (None for ``--quick`` or ``--only``). An example an explainer could not explain
        on one side must be unexplainable on the other too (else the sides' examples differ and the
        row raises ValueError); the shipped data has none.
    """
    from core.evaluation.store import EvaluationStore

    store = store if store is not None else EvaluationStore()
    params = dict(settings.explainer_params or {})
    if settings.lime_samples:
        params["lime"] = {"n_samples": settings.lime_samples}
    context = Context(store, device, settings.sample_seed, params, on_progress)
    chosen = [c for c in COMPARISONS if settings.ids is None or c.id in settings.ids]
    rows = []
    for comparison in chosen:
        (on_progress or (lambda m: None))(f"{comparison.id}")
        started = time.perf_counter()
        row = measure_models(comparison, settings, context) if comparison.kind == "models" \
            else measure_explainers(comparison, settings, context)
        row["seconds"] = round(time.perf_counter() - started, 1)
        rows.append(row)
    masks = None if settings.quick or settings.ids else mask_summary(settings.seeds, device, context.load)
    return {"settings": {**settings.__dict__, "seeds": list(settings.seeds),
                         "ids": list(settings.ids) if settings.ids else None},
            "environment": environment(context), "rows": rows, "masks": masks}


def _sample(ids: Sequence[str], comparison: Comparison, settings: ReportSettings) -> list[str]:
    from core.evaluation.runner import sample_ids

    if comparison.metric == "accuracy":
        return list(ids)
    n = comparison.options.get("n", settings.n)
    return sample_ids(list(ids), min(n, settings.n) if settings.quick else n, settings.sample_seed)


def measure_models(comparison: Comparison, settings: ReportSettings, context: Context) -> dict[str, Any]:
    """A ``models`` row: both models per common seed on the same test examples."""
    from core.data.model_data import model_dataset

    a_paths, b_paths = seed_checkpoints(comparison.a, settings.seeds), seed_checkpoints(comparison.b, settings.seeds)
    paired = bool(set(a_paths) & set(b_paths))
    seeds = sorted(set(a_paths) & set(b_paths)) or [min(a_paths)]
    if not paired:  # no common seed (e.g. only one side has seed copies): one model each, unpaired
        b_paths = {seeds[0]: next(iter(b_paths.values()))}
    first = context.load(a_paths[seeds[0]])
    test = model_dataset(first.config, first.path).test
    ids = _sample(test.ids, comparison, settings)
    values = {"a": [], "b": []}
    for seed in seeds:
        for side, where in (("a", a_paths), ("b", b_paths)):
            model = context.load(where[seed])
            values[side].append(model_values(comparison, model, ids, test, context))
    return _row(comparison, seeds, values["a"], values["b"], len(ids), settings, paired)


def measure_explainers(comparison: Comparison, settings: ReportSettings, context: Context) -> dict[str, Any]:
    """An ``explainers`` row: two explainers of one model, paired by example."""
    model = context.load(comparison.model)
    if model.config.get("pair"):
        from core.data.pairs import load_pair_dataset

        all_ids = load_pair_dataset(model.config["dataset"]).test.ids
    else:
        from core.data.model_data import model_dataset

        all_ids = model_dataset(model.config, model.path).test.ids
    ids = _sample(all_ids, comparison, settings)
    a = explainer_values(comparison, comparison.a, model, ids, context)
    b = explainer_values(comparison, comparison.b, model, ids, context)
    both = [i for i in ids if i in a and i in b]
    return _row(comparison, [settings.sample_seed], [_stack([a[i] for i in both])], [_stack([b[i] for i in both])],
                len(both), settings, paired=True)


def _stack(items: list) -> Any:
    if items and isinstance(items[0], dict):
        return {key: np.stack([np.asarray(item[key]) for item in items]) for key in items[0]}
    return np.asarray(items, dtype=np.float64)


def _row(comparison: Comparison, seeds: list[int], a: list, b: list, n: int, settings: ReportSettings,
         paired: bool) -> dict[str, Any]:
    statistic = statistic_for(comparison.metric)
    interval = paired_interval(a, b, statistic, settings.replicates, settings.sample_seed)
    a_means, b_means = [statistic(x) for x in a], [statistic(x) for x in b]
    return {"comparison": comparison.to_dict(), "seeds": seeds, "n": n, "paired_seeds": paired,
            "a": {"per_seed": a_means, "mean": float(np.mean(a_means)), "sd": _sd(a_means)},
            "b": {"per_seed": b_means, "mean": float(np.mean(b_means)), "sd": _sd(b_means)},
            "interval": interval.to_dict(), "verdict": verdict(interval, comparison.direction)}


def _sd(values: list[float]) -> float | None:
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def environment(context: Context) -> dict[str, Any]:
    """Commit, versions and the data fingerprints of the datasets the rows used."""
    import torch

    from core.data.datasets import load_dataset

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.REPO_ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    datasets = {}
    for model in context.load.cache.values():
        name = model.config.get("dataset", "")
        if name and name not in datasets and not model.config.get("pair"):
            datasets[name] = load_dataset(name).fingerprint
    return {"commit": commit, "python": platform.python_version(), "torch": torch.__version__,
            "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
            "data_fingerprints": datasets}


# ---------------------------------------------------------------------------------------- files

def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown table (one row per comparison) with the settings and notes below."""
    settings = report["settings"]
    lines = ["| finding (paper) | metric | A: mean ± sd | B: mean ± sd | A − B [95% CI] | seeds × n | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    notes: dict[str, list[str]] = {}  # note -> the rows it is about (one note often serves several rows)
    for row in report["rows"]:
        c, i = row["comparison"], row["interval"]
        metric = c["metric"] + "".join(f" {k}={v}" for k, v in c["options"].items() if k != "n")
        if c["explainer"]:
            metric = f"{c['explainer']} {metric}"
        side = (lambda s: f"{_fmt(s['mean'])} ± {_fmt(s['sd'])}" if s["sd"] is not None else _fmt(s["mean"]))
        seeds = f"{len(row['seeds'])} × {row['n']}" + ("" if row["paired_seeds"] else " (unpaired)")
        if c["kind"] == "models" and len(row["seeds"]) == 1:
            seeds += " (1 seed: over examples only)"
        lines.append(f"| {c['claim']} ({c['paper']}) | {metric} | {c['a']}: {side(row['a'])} | "
                     f"{c['b']}: {side(row['b'])} | {_fmt(i['difference'])} [{_fmt(i['low'])}, {_fmt(i['high'])}] | "
                     f"{seeds} | **{row['verdict']}** |")
        if c["note"]:
            notes.setdefault(c["note"], []).append(c["id"])
    head = [f"Seeds {settings['seeds']}, n = {settings['n']} test examples per row unless the row says "
            f"otherwise, {settings['replicates']} bootstrap replicates (95% percentile intervals across seeds "
            f"and examples); commit {report['environment']['commit'] or 'unknown'}."]
    if settings.get("quick"):
        head.insert(0, "**Quick run (CI-sized): these numbers are not claimed.**")
    note_lines = [f"- {', '.join(f'`{i}`' for i in ids)}: {note}" for note, ids in notes.items()]
    parts = ["\n".join(head), "\n".join(lines)] + (["Notes:\n" + "\n".join(note_lines)] if note_lines else [])
    if report.get("masks"):
        parts += ["Shipped VMASK masks (keep probability E[q(R|x)] of every test word):",
                  mask_markdown(report["masks"])]
    return "\n\n".join(parts) + "\n"


def write_report(report: dict[str, Any], directory: str | Path = REPORT_DIR) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``directory`` atomically; returns their paths."""
    directory = Path(directory)
    json_path, md_path = directory / "report.json", directory / "report.md"
    atomic_write_json(json_path, report)
    atomic_write_bytes(md_path, markdown(report).encode("utf-8"))
    return json_path, md_path


def load_report(directory: str | Path = REPORT_DIR) -> dict[str, Any] | None:
    """The report in ``directory`` (None when there is none)."""
    path = Path(directory) / "report.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
