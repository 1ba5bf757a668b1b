"""Per-example values of each side of a :class:`~core.reproduction.comparisons.Comparison`.

Explanations come from (and go into) the evaluation store, so the Faithfulness page, ``core.evaluate``
and the report share them. Per seed, the models of a ``models`` row are the checkpoints under
``assets/seeds/<name>-seed<k>`` (``scripts/train_shipped.py`` writes them; seed 0 is also the shipped
``assets/checkpoints/<name>``); a model without seed copies is measured once, as shipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from core import paths
from core.reproduction.bootstrap import Statistic, mean_statistic
from core.reproduction.comparisons import Comparison

SEEDS_DIR = paths.ASSETS_DIR / "seeds"


@dataclass
class Side:
    """The measured values of one side: per seed, the per-example values (the same ids on both sides)."""

    seeds: list[int]
    values: list[Any]
    means: list[float]


def seed_checkpoints(name: str, seeds: Sequence[int]) -> dict[int, Path]:
    """seed -> checkpoint directory of model ``name`` for the seeds that have one (else {shipped seed: shipped})."""
    candidates = {s: SEEDS_DIR / f"{name}-seed{s}" for s in seeds}
    found = {s: path for s, path in candidates.items() if (path / "config.json").is_file()}
    if found:
        return found
    from core.registry import find_model

    record = find_model(name)
    from core.checkpoints import read_config

    return {int(read_config(record.path).get("training", {}).get("seed", 0)): Path(record.path)}


class Loader:
    """Loads each model once (by path or name) on one device."""

    def __init__(self, device: str = "auto"):
        self.device, self.cache = device, {}

    def __call__(self, name_or_path: str | Path):
        from core.models import load_model

        key = str(name_or_path)
        if key not in self.cache:
            self.cache[key] = load_model(name_or_path, device=self.device)
        return self.cache[key]


def statistic_for(metric: str) -> Statistic:
    """How a side's per-example values become one number: the mean, or the metric's own aggregate."""
    if metric == "silhouette":
        return _silhouette
    if metric == "degradation":
        return _degradation_score
    return mean_statistic


def _silhouette(values: dict) -> float:
    from sklearn.metrics import silhouette_score

    labels = np.asarray(values["labels"])
    if len(set(labels.tolist())) < 2:
        return float("nan")
    return float(silhouette_score(values["reps"], labels))


def _degradation_score(values: dict) -> float:
    from core.metrics import degradation_curves

    return degradation_curves(values["fractions"][0], values["full"], values["empty"], values["morf"],
                              values["lerf"])[2]


# ---------------------------------------------------------------------------------------- models rows

def model_values(comparison: Comparison, model, ids: Sequence[str], test, context: "Context") -> Any:
    """Per-example values of ``comparison.metric`` for one model on the test ``ids`` (see the module doc)."""
    text_of, label_of = dict(zip(test.ids, test.texts)), dict(zip(test.ids, test.labels))
    if comparison.metric == "accuracy":
        predicted = model.predict_proba([text_of[i] for i in ids]).argmax(1)
        return (predicted == np.asarray([label_of[i] for i in ids])).astype(np.float64)
    if comparison.metric == "silhouette":
        from core.representations import sentence_representations

        return {"reps": sentence_representations(model, [text_of[i] for i in ids]),
                "labels": np.asarray([label_of[i] for i in ids])}
    examples = context.examples(model, comparison.explainer, ids, text_of, comparison.options.get("ranking", "signed"))
    return explanation_metric(comparison, model, examples, [label_of[i] for i in ids], context)


def explanation_metric(comparison: Comparison, model, examples, labels, context: "Context") -> np.ndarray:
    """Per-example AOPC or post-hoc values [M] of (words, ranking) ``examples`` (options: k, unit, evaluator)."""
    from core.metrics import aopc, model_scorer, posthoc_hits, unk_token_for

    options = comparison.options
    scorer_model = context.load(options["evaluator"]) if options.get("evaluator") else model
    scorer, unit = model_scorer(scorer_model), options.get("unit", "probability")
    if comparison.metric == "aopc":
        return np.asarray(aopc(scorer, examples, k_max=int(options.get("k", 10)), unit=unit, labels=labels,
                               unk_token=unk_token_for(scorer_model)).per_example)
    k_values = list(range(1, 11)) if options.get("k") == "1-10" else [int(options.get("k", 5))]
    return posthoc_hits(scorer, examples, k_values, unit=unit, labels=labels).mean(1)


# ---------------------------------------------------------------------------------------- explainers rows

def explainer_values(comparison: Comparison, explainer: str, model, ids: Sequence[str], context: "Context") -> dict:
    """id -> per-example value(s) of one explainer of ``comparison.model`` (AUC_rep, or degradation inputs)."""
    ranking = comparison.options.get("ranking", "signed")
    if comparison.metric == "degradation":
        return _pair_degradation(model, explainer, ids, ranking, comparison.options.get("operation", "remove"),
                                 context)
    from core.data.model_data import model_dataset
    from core.metrics import auc_rep, model_scorer

    test = model_dataset(model.config, model.path).test
    text_of = dict(zip(test.ids, test.texts))
    kept, examples = context.examples(model, explainer, ids, text_of, ranking, keep_ids=True)
    result = auc_rep(model_scorer(model), context.likelihood(), examples, seed=context.seed)
    return dict(zip(kept, result.per_example.tolist()))


def _pair_degradation(model, explainer: str, ids: Sequence[str], ranking: str, operation: str,
                      context: "Context") -> dict:
    from core.data.pairs import load_pair_dataset
    from core.metrics import degradation
    from core.metrics.pairs import metric_operation, pair_scorer

    test = load_pair_dataset(model.config["dataset"]).test
    pair_of = {i: (a, b) for i, a, b in zip(test.ids, test.texts_a, test.texts_b)}
    kept, examples = context.pair_examples(model, explainer, ids, pair_of, ranking)
    fractions = [round(x, 2) for x in np.linspace(0, 1, 11)]
    result = degradation(pair_scorer(model, operation=operation), examples, fractions,
                         operation=metric_operation(operation))
    per = result.per_example
    return {i: {"full": per["full"][j], "empty": per["empty"][j], "morf": per["morf"][j], "lerf": per["lerf"][j],
                "fractions": np.asarray(fractions)} for j, i in enumerate(kept)}


# ---------------------------------------------------------------------------------------- shared context

class Context:
    """What the measurements share: the store, the loaded models, the MLM, the seed and explainer settings.

    Args:
        store: the evaluation store (explanations are read from and written to it).
        device: where models run.
        seed: seed of stochastic explainers and of AUC_rep's sampling.
        explainer_params: per explainer, constructor parameters that enter the store key (``--quick``
            uses fewer LIME samples, for instance).
        on_progress: called with a short message before each measurement.
    """

    def __init__(self, store, device: str = "auto", seed: int = 0,
                 explainer_params: dict[str, dict[str, Any]] | None = None,
                 on_progress: Callable[[str], None] | None = None):
        self.store, self.seed, self.load = store, seed, Loader(device)
        self.explainer_params = explainer_params or {}
        self.on_progress = on_progress or (lambda message: None)
        self._likelihood = None
        self.device = device

    def likelihood(self):
        """The shipped MLM, loaded once."""
        if self._likelihood is None:
            from core.lm.mlm import load_likelihood

            self._likelihood = load_likelihood("mlm", device=self.device)
        return self._likelihood

    def examples(self, model, explainer: str, ids: Sequence[str], text_of: dict[str, str], ranking: str,
                 keep_ids: bool = False):
        """(words, ranking) of each id's stored (or newly computed) explanation; errored ids are left out
        (with ``keep_ids``: also the kept ids)."""
        from core.evaluation.common import explainer_params, fill_explanations
        from core.metrics import ranking_of

        params = explainer_params(explainer, self.seed, self.explainer_params.get(explainer), model)
        file, _ = fill_explanations(self.store, model, explainer, params, ids, text_of, self.likelihood)
        kept = [i for i in ids if file.get(i) is not None]
        examples = [(list(file.get(i)["words"]), ranking_of(file.get(i)["scores"], ranking)) for i in kept]
        return (kept, examples) if keep_ids else examples

    def pair_examples(self, model, explainer: str, ids: Sequence[str], pair_of: dict, ranking: str):
        """Kept ids and (tagged words, ranking) of each pair's stored (or new) explanation."""
        from core.evaluation.common import explainer_params, fill_explanations
        from core.metrics import ranking_of
        from core.metrics.pairs import pair_examples

        params = explainer_params(explainer, self.seed, self.explainer_params.get(explainer), model)
        file, _ = fill_explanations(self.store, model, explainer, params, ids, pair_of)
        kept = [i for i in ids if file.get(i) is not None]
        tagged = pair_examples([file.get(i) for i in kept])
        return kept, [(words, ranking_of(file.get(i)["scores"], ranking)) for i, (words, _) in zip(kept, tagged)]
