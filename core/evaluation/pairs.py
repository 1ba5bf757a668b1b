"""``core.evaluate`` for sentence-pair models: explain seeded test pairs, score them with the pair metrics.

Same store, seeding and record format as :func:`core.evaluation.runner.evaluate`; the explainers
are the pair ones (gmask, imask, zero, lime, shapley; single-text names such as ``vmask`` or
``marginal`` are skipped with the reason) and the metrics AOPC (K = 10), post-hoc accuracy
(k = 1..10) and degradation (rho = 0, 0.1, ..., 1), words deleted from either text, by removal
(``remove``, default) or in place with the pad id (``pad``, the GMASK authors' code; see
:mod:`core.metrics.pairs`). ``auc_rep`` needs a masked LM over one text and is skipped for pairs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.evaluation.common import compute_metric, empty_record, explainer_params, fill_explanations, sample_ids
from core.evaluation.metric_specs import METRIC_SPECS, MetricNames, metric_spec
from core.evaluation.store import EvaluationStore
from core.progress import ProgressLike, as_progress

PAIR_METRICS = MetricNames(lambda spec: spec.applies_to_pairs)
"""The metrics of sentence-pair models: aopc, posthoc, degradation (a live view of the registry)."""
PAIR_DEFAULT_EXPLAINERS = ("gmask", "imask", "zero", "lime")
def is_pair_checkpoint(name_or_path: str | Path) -> bool:
    """True when ``name_or_path`` names (or is the directory of) a sentence-pair checkpoint."""
    from core import checkpoints
    from core.registry import ModelNotFoundError, find_model

    path = Path(name_or_path)
    if not (path.is_dir() and (path / checkpoints.CONFIG_FILE).exists()):
        try:
            path = Path(find_model(str(name_or_path)).path)
        except ModelNotFoundError:
            return False
    try:
        return bool(checkpoints.read_config(path).get("pair"))
    except checkpoints.CheckpointError:
        return False


def evaluate_pairs(model_name: str, explainers: Sequence[str] = PAIR_DEFAULT_EXPLAINERS,
                   metrics: Sequence[str] = PAIR_METRICS, n: int = 500, seed: int = 0, device: str = "auto",
                   progress: bool = True, store: EvaluationStore | None = None,
                   params: dict[str, dict[str, Any]] | None = None, data=None, aopc_k: int = 10,
                   operation: str = "remove",
                   on_progress: ProgressLike = None,
                   ranking: str = "signed") -> list[dict[str, Any]]:
    """Explain ``n`` seeded test pairs with each pair explainer and compute the pair metrics.

    Args:
        model_name: registry name or checkpoint directory of a pair model.
        explainers: pair explainer names; others are skipped with the reason.
        metrics: among aopc, posthoc, degradation (:data:`PAIR_METRICS`); registered metrics that do not
            apply to pairs (``auc_rep``) are skipped.
        n, seed, device, progress, store, params: as :func:`core.evaluation.runner.evaluate`.
        data: a :class:`~core.data.pairs.PairDataset` to sample from (default: the model's dataset by name).
        aopc_k: K of AOPC (>= 1).
        operation: how AOPC and degradation delete a word: ``remove`` (default, the paper's words)
            or ``pad`` (the word's pieces get the pad id in place, as the authors' code;
            :mod:`core.metrics.pairs`). Part of those metrics' store key (``remove`` keeps the
            earlier keys); post-hoc accuracy keeps only the top words and does not depend on it.
        ranking: ``signed`` (by score) or ``magnitude`` (by absolute score), as in
            :func:`core.evaluation.runner.evaluate`; only signed explainers (LIME, zero, Shapley) differ.
        on_progress: ``(done, total, stage)`` after each explained pair and before each metric,
            or a :class:`core.progress.Progress`, as :func:`core.evaluation.runner.evaluate`.

    Raises:
        ValueError: bad ``n``, ``aopc_k`` or metric names, or an ``operation`` other than ``remove``/``pad``.
        core.progress.Cancelled: the ``on_progress`` tracker's token was cancelled (stored pairs are kept).

    Returns:
        One record per explainer, as :func:`core.evaluation.runner.evaluate`.
    """
    from tqdm.auto import tqdm

    from core.data.pairs import load_pair_dataset
    from core.data.tokenizers import UNK
    from core.explain.registry import explainers_for, skip_reason
    from core.metrics import ranking_of
    from core.metrics.pairs import check_pair_operation, metric_operation, pair_examples, pair_scorer
    from core.models import load_model

    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    check_pair_operation(operation)
    if not isinstance(aopc_k, (int, np.integer)) or isinstance(aopc_k, bool) or aopc_k < 1:
        raise ValueError(f"aopc_k must be a positive integer, got {aopc_k!r}")
    aopc_k = int(aopc_k)  # a numpy integer is not JSON (the store key)
    unknown = [m for m in metrics if m not in METRIC_SPECS]  # known ones that do not apply to pairs are skipped
    if unknown:
        raise ValueError(f"unknown metric {', '.join(map(repr, unknown))}; for pairs choose from {', '.join(PAIR_METRICS)}")
    params, store = params or {}, store if store is not None else EvaluationStore()
    model = load_model(model_name, device=device)
    data = data if data is not None else load_pair_dataset(model.config["dataset"])
    if model.config.get("data_fingerprint") not in (None, data.fingerprint):
        raise ValueError(f"the data {data.name!r} is not the data {model.name} was trained on (its fingerprint "
                         "differs); pass the model's own pair data (data=load_pair_csv(...))")
    test = data.test
    ids = sample_ids(list(test.ids), n, seed)
    pair_of = {i: (a, b) for i, a, b in zip(test.ids, test.texts_a, test.texts_b)}
    scorer, fingerprint = pair_scorer(model, operation=operation), model.config["weights_sha256"]
    records, names = [], list(dict.fromkeys(e.strip() for e in explainers if e.strip()))
    reasons = {name: skip_reason(name, model) if name in explainers_for() else
               f"{name} is not a registered explainer" for name in names}
    tracker = as_progress(on_progress, sum(not reason for reason in reasons.values()) * len(ids))

    with tracker.running():  # heartbeats inside an explanation or a metric are cancel points
        for name in names:
            reason = reasons[name]
            key_params = {} if reason else explainer_params(name, seed, params.get(name), model)
            record = empty_record(name, key_params, model.name, reason)
            records.append(record)
            if reason:
                continue
            started = time.perf_counter()
            with tqdm(total=len(ids), disable=not progress, desc=name, unit="pair") as bar:
                file, record["explained"] = fill_explanations(
                    store, model, name, key_params, ids, pair_of,
                    on_stored=lambda count, stage=name: (bar.update(count), tracker.advance(count, stage)),
                    on_cached=lambda count, stage=name: (bar.update(count), tracker.skip(count, stage)))
            record["timing"]["explain"] = time.perf_counter() - started
            used = [i for i in ids if file.get(i) is not None]
            record["errors"] = {i: file.error(i) for i in ids if file.error(i) is not None}
            record["n"] = len(used)
            examples = [(words, ranking_of(file.get(i)["scores"], ranking))
                        for i, (words, _) in zip(used, pair_examples([file.get(i) for i in used]))]
            for spec in map(metric_spec, metrics):
                if not spec.applies_to_pairs or not examples:
                    continue
                tracker.set_stage(f"{name}: {spec.name}")
                metric_started = time.perf_counter()
                settings = spec.settings(seed, operation, aopc_k, ranking)  # "remove", signed: the key as before
                key = store.metric_key(fingerprint, name, key_params, spec.name, settings, used)
                result = store.get_metric(key)
                if result is None:
                    run = ({**settings, "operation": metric_operation(operation)} if "operation" in spec.takes
                           else settings)
                    result = compute_metric(spec.name, scorer, examples, run, None, UNK)
                    store.put_metric(key, result)
                record["metrics"][spec.name] = spec.public(result)
                record["timing"][spec.name] = time.perf_counter() - metric_started
            record["seconds"] = time.perf_counter() - started
    return records
