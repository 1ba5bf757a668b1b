"""The shipped VMASK masks in numbers: how open they are, and their accuracy next to their base twins.

The keep probability E[q(R|x)] of every word of the test split (the ``vmask`` explainer's scores:
for MiniLM the mean over a word's pieces) gives the median and the share below 0.5; accuracy is the
test accuracy stored in each seed's checkpoint (mean and standard deviation over the seeds).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.reproduction.measure import Loader, seed_checkpoints

MASK_TWINS = (("cnn-vmask-movie-snippets", "cnn-base-movie-snippets"),
              ("lstm-vmask-movie-snippets", "lstm-base-movie-snippets"),
              ("cnn-vmask-trec6", "cnn-base-trec6"),
              ("minilm-vmask-movie-snippets", None))


def keep_probabilities(model, texts) -> np.ndarray:
    """E[q(R|x)] of every word of ``texts`` (the ``vmask`` explainer's scores), concatenated [W]."""
    from core.explain.registry import get_explainer

    explainer = get_explainer("vmask", model)
    return np.concatenate([np.asarray(explainer.explain(text).scores, dtype=np.float64) for text in texts])


def _accuracies(name: str, seeds, loader: Loader) -> list[float]:
    from core.checkpoints import read_config

    return [float(read_config(path)["metrics"]["test_accuracy"]) for path in seed_checkpoints(name, seeds).values()]


def mask_summary(seeds=(0, 1, 2), device: str = "auto", loader: Loader | None = None) -> list[dict[str, Any]]:
    """Per shipped VMASK model: keep-probability median and share below 0.5 on its test words, and its
    test accuracy (mean, sd over seeds) next to its base twin's."""
    from core.data.model_data import model_dataset
    from core.explain.base import ExplainError

    loader = loader or Loader(device)
    rows = []
    for name, base in MASK_TWINS:
        model = loader(name)
        texts = model_dataset(model.config, model.path).test.texts
        keep = []
        for text in texts:
            try:
                keep.append(keep_probabilities(model, [text]))
            except ExplainError:  # a text with no word the model knows
                continue
        keep = np.concatenate(keep)
        vmask_acc = _accuracies(name, seeds, loader)
        base_acc = _accuracies(base, seeds, loader) if base else []
        rows.append({"model": name, "base": base, "words": int(keep.size), "median": float(np.median(keep)),
                     "share_below_half": float((keep < 0.5).mean()), "shipped_accuracy":
                     float(model.config["metrics"]["test_accuracy"]),
                     "accuracy": _mean_sd(vmask_acc), "base_accuracy": _mean_sd(base_acc) if base_acc else None})
    return rows


def _mean_sd(values: list[float]) -> dict[str, Any]:
    return {"mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1)) if len(values) > 1 else None,
            "seeds": len(values)}


def mask_markdown(rows: list[dict[str, Any]]) -> str:
    """The mask table in Markdown."""
    lines = ["| mask model | test words | median keep prob. | share < 0.5 | test acc. (mean ± sd over seeds) | "
             "base twin: test acc. |", "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        acc, base = row["accuracy"], row["base_accuracy"]
        sd = f" ± {100 * acc['sd']:.2f}" if acc["sd"] is not None else ""
        base_text = "–" if base is None else (f"{row['base']}: {100 * base['mean']:.2f}"
                                             + (f" ± {100 * base['sd']:.2f}" if base["sd"] is not None else ""))
        seeds = f"{acc['seeds']} seed{'s' if acc['seeds'] > 1 else ''}"
        lines.append(f"| {row['model']} | {row['words']} | {row['median']:.3f} | "
                     f"{100 * row['share_below_half']:.1f}% | {100 * acc['mean']:.2f}{sd} ({seeds}) | {base_text} |")
    return "\n".join(lines)
