"""Evaluate explainers on a model's test set with the faithfulness metrics, resumably.

:func:`evaluate` samples ``n`` test examples (seeded), explains each with each explainer
(explanations are kept in an :class:`~core.evaluation.store.EvaluationStore`, so a second
run, or a run after a crash, explains only what is missing) and computes each metric on the
explainers' rankings with :func:`core.metrics.model_scorer` (metric results are cached too).

Metric settings (part of the cache key; ``operation`` and ``aopc_k`` are arguments):

- ``aopc``: K = ``aopc_k`` (10; VMASK Table 4 uses 5), words deleted by ``operation``
  (``remove`` as the papers, ``zero``, ``unk`` or ``mlm``; GMASK eq. 9);
- ``posthoc``: k = 1..10, only the top-k words kept, ranked by each explainer's per-example
  scores. The VMASK paper ranks by the model's *global* importance: that is the ``global``
  explainer (:mod:`core.explain.global_importance`);
- ``degradation``: rho = 0, 0.1, ..., 1, words deleted by ``operation`` (GMASK eq. 10-11);
- ``auc_rep``: the shipped MLM (``load_likelihood("mlm")``, loaded once) proposes the
  replacements, up to 20% of the words, sampled with ``seed``.

Examples an explainer cannot explain (e.g. no word the model knows) are recorded as errors
and left out of that explainer's metrics.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from core.evaluation.common import (FLUSH_EVERY, METRIC_PARAMS, METRICS, compute_metric,  # noqa: F401
                                    explainer_params, fill_explanations,
                                    empty_record, metric_params, public_result, sample_ids)
from core.evaluation.metric_specs import METRIC_SPECS, metric_spec
from core.evaluation.pairs import PAIR_DEFAULT_EXPLAINERS, evaluate_pairs, is_pair_checkpoint
from core.evaluation.store import EvaluationStore
from core.progress import ProgressLike, as_progress

EXPLAINER_NAMES = ("vmask", "zero", "marginal", "lime")
DELETIONS = ("remove", "zero", "unk", "mlm")


def check_arguments(explainers: Sequence[str], metrics: Sequence[str], n: int) -> tuple[list[str], list[str]]:
    """Validated, de-duplicated explainer and metric names.

    Raises:
        ValueError: an unknown explainer or metric, none given, or ``n`` < 1.
    """
    from core.explain.registry import explainer_class

    explainers = list(dict.fromkeys(e.strip() for e in explainers if e.strip()))
    metrics = list(dict.fromkeys(m.strip() for m in metrics if m.strip()))
    if not explainers:
        raise ValueError("no explainer given")
    if not metrics:
        raise ValueError("no metric given")
    for name in explainers:  # whether one applies to the model (text or pair, mask...) is checked later
        explainer_class(name)  # ExplainError (a ValueError) listing the names
    unknown = [m for m in metrics if m not in METRIC_SPECS]
    if unknown:
        raise ValueError(f"unknown metric {', '.join(map(repr, unknown))}; choose from {', '.join(METRIC_SPECS)}")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return explainers, metrics


def evaluate(model_name: str, explainers: Sequence[str] = EXPLAINER_NAMES, metrics: Sequence[str] = METRICS,
             n: int = 500, seed: int = 0, device: str = "auto", progress: bool = True,
             store: EvaluationStore | None = None, params: dict[str, dict[str, Any]] | None = None,
             flush_every: int = FLUSH_EVERY, likelihood: Any | None = None, operation: str = "remove",
             aopc_k: int = 10, on_progress: ProgressLike = None,
             data: Any | None = None, ranking: str = "signed", unit: str = "probability",
             evaluator: str | None = None, engine: Any = "local") -> list[dict[str, Any]]:
    """Explain ``n`` seeded test examples with each explainer and score the explanations.

    Args:
        model_name: registry name or checkpoint directory.
        explainers: explainer names (those that do not apply to the model are skipped, with the reason).
        metrics: among ``aopc``, ``posthoc``, ``degradation``, ``auc_rep`` (and any metric added with
            :func:`core.evaluation.metric_specs.register_metric`; one that does not apply to single texts is skipped).
        n: examples sampled from the model's dataset's test split (all of them when it is smaller).
        seed: seed of the sample, of stochastic explainers and of ``auc_rep``'s replacements.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        progress: show a tqdm bar over (explainer, example).
        store: where explanations and metric results are kept; default ``$MASKLENS_HOME/evaluations``.
        params: optional extra constructor parameters per explainer (``{"lime": {"n_samples": 200}}``).
        flush_every: explanations computed between two atomic writes of the store file.
        likelihood: an already loaded shipped MLM (``load_likelihood("mlm")``) for ``marginal``,
            ``auc_rep`` and the ``mlm`` deletion; default: loaded once, when first needed. Not part of
            the store key, so pass only the shipped MLM.
        operation: how ``aopc`` and ``degradation`` delete a word: ``remove`` (the papers),
            ``zero`` (zero embedding), ``unk`` (the tokenizer's unknown word) or ``mlm`` (a word
            sampled from the shipped MLM, seeded with ``seed``).
        aopc_k: K of AOPC (>= 1).
        on_progress: called as ``(done, total, stage)`` after each explained example (``done`` of
            ``total`` = explainers x examples, stored ones counted at once) and before each metric
            (``stage`` = ``"explainer: metric"``); for a page's progress bar. A
            :class:`core.progress.Progress` gets the stored ones as :meth:`~core.progress.Progress.skip`
            (left out of its time estimate) and its cancel token is checked at each of those
            points and at every forward chunk inside an explanation or a metric
            (:func:`core.progress.heartbeat`). Either may raise to stop there; what was explained
            is kept in the store, so the same call later resumes from there.
        data: the model's data (a :class:`~core.data.datasets.DatasetSplits`, e.g. its user CSV again);
            default: found by :func:`core.data.model_data.model_dataset`, which checks the data
            fingerprint (a user CSV named like a bundled dataset is never mixed up with it).
        ranking: how scores order words for the metrics: ``signed`` (by score; a word that opposes
            the class is deleted last) or ``magnitude`` (by absolute score). The papers rank by
            their (unsigned) masks and attention, where both agree; for signed explainers (LIME,
            zero erasure) none of them says, so MaskLens keeps ``signed`` and reports both.
        unit: ``probability`` (default) or ``accuracy`` against gold labels, for ``aopc`` and
            ``posthoc`` (the VAT paper's 5.2).
        evaluator: a model (registry name or directory) that scores the perturbed texts instead of
            the explained model (the VAT paper classifies them with a separate LSTM-base).
        engine: where explanations are computed: ``"local"`` (this process), ``"ray"`` (a local
            Ray with 2 workers, started and stopped here) or an engine object such as
            ``core.evaluation.engines.RayEngine(address=..., workers=..., gpus_per_worker=...)``,
            which the caller closes. Same explanations and numbers either way
            (:mod:`core.evaluation.engines`); metrics are computed here from the store.

    Returns:
        One record per explainer: ``{"explainer", "params", "n", "metrics", "seconds", "model",
        "skipped", "errors", "explained", "timing"}``; ``metrics`` maps ``aopc`` to
        ``{"value", "per_k"}``, ``posthoc`` to ``{k: accuracy}``, ``degradation`` to
        ``{"score", "fractions", "morf", "lerf"}`` and ``auc_rep`` to ``{"value", "fractions", "mean_curve"}``
        (the mean curve over examples at 11 replaced fractions, see ``AUCRepResult.mean_curve``). ``n`` counts
        the examples scored; ``errors`` maps unexplainable example ids to the reason; ``explained``
        counts explanations computed by this call (0 when all came from the store); ``timing``
        gives seconds spent explaining and per metric in this call; ``skipped`` is the reason the
        explainer does not apply (then ``metrics`` is empty), else None.

    Raises:
        ValueError: bad arguments (unknown explainer or metric, ``n`` < 1); load errors of the model.
        core.progress.Cancelled: the token of an ``on_progress`` :class:`~core.progress.Progress` was
            cancelled (anything ``on_progress`` raises propagates the same way).
    """
    default_explainers = list(explainers) == list(EXPLAINER_NAMES)
    explainers, metrics = check_arguments(explainers, metrics, n)
    pair = is_pair_checkpoint(model_name)
    if not pair and operation not in DELETIONS:
        raise ValueError(f"unknown deletion operation {operation!r}; choose one of {', '.join(DELETIONS)}")
    if not isinstance(aopc_k, (int, np.integer)) or isinstance(aopc_k, bool) or aopc_k < 1:
        raise ValueError(f"aopc_k must be a positive integer, got {aopc_k!r}")
    aopc_k = int(aopc_k)
    if pair:  # sentence-pair model: pair explainers and metrics (core.evaluation.pairs)
        return evaluate_pairs(model_name, PAIR_DEFAULT_EXPLAINERS if default_explainers else explainers, metrics,
                              n=n, seed=seed, device=device, progress=progress, store=store, params=params,
                              aopc_k=aopc_k, operation=operation, on_progress=on_progress, ranking=ranking)
    from tqdm.auto import tqdm

    from core.data.model_data import label_mismatch, model_dataset
    from core.explain.registry import skip_reason
    from core.metrics import model_scorer, ranking_of, unk_token_for
    from core.models import load_model

    params = params or {}
    store = store if store is not None else EvaluationStore()
    model = load_model(model_name, device=device)
    fingerprint = model.config["weights_sha256"]
    dataset = model_dataset(model.config, model.path, data)
    test = dataset.test
    mismatch = label_mismatch(list(model.label_names), list(dataset.label_names))
    if unit == "accuracy" and mismatch:
        raise ValueError(f"unit='accuracy' needs gold labels the model's classes match: {mismatch}")
    ids = sample_ids(list(test.ids), n, seed)
    text_of = dict(zip(test.ids, test.texts))
    from core.metrics import RANKINGS, UNITS

    if ranking not in RANKINGS or unit not in UNITS:
        raise ValueError(f"ranking must be one of {', '.join(RANKINGS)} and unit one of {', '.join(UNITS)}")
    evaluator_model = load_model(evaluator, device=device) if evaluator is not None else model
    if list(evaluator_model.label_names) != list(model.label_names):
        raise ValueError(f"the evaluator {evaluator_model.name} has classes {evaluator_model.label_names}, the "
                         f"explained model {model.label_names}")
    evaluator_key = evaluator_model.config["weights_sha256"] if evaluator is not None else None
    scorer = model_scorer(evaluator_model)
    label_of = dict(zip(test.ids, test.labels))
    likelihood_cache: dict[str, Any] = {} if likelihood is None else {"mlm": likelihood}

    def get_likelihood():
        if "mlm" not in likelihood_cache:
            from core.lm.mlm import load_likelihood

            likelihood_cache["mlm"] = load_likelihood("mlm", device=device)
        return likelihood_cache["mlm"]

    reasons = {name: skip_reason(name, model) for name in explainers}
    applicable = [name for name in explainers if not reasons[name]]
    records = []
    total = len(applicable) * len(ids)
    bar = tqdm(total=total, disable=not progress, desc="evaluate", unit="example")
    tracker = as_progress(on_progress, total)
    from core.evaluation.engines import make_engine

    workers = make_engine(engine)
    # the metrics' forward passes go where the explanations do (a separate evaluator model stays here)
    metric_scorer = workers.scorer(model, str(model_name), scorer) if evaluator is None else scorer

    def advance(count: int, stage: str, cached: bool = False) -> None:
        bar.update(count)
        (tracker.skip if cached else tracker.advance)(count, stage)

    try:
        with tracker.running():  # heartbeats inside an explanation or a metric are cancel points
            for name in explainers:
                key_params = explainer_params(name, seed, params.get(name), model)
                record = empty_record(name, key_params, model.name, reasons[name])
                records.append(record)
                if reasons[name]:
                    continue
                started = time.perf_counter()
                bar.set_postfix_str(name)
                file, record["explained"] = fill_explanations(
                    store, model, name, key_params, ids, text_of, get_likelihood, flush_every,
                    on_stored=lambda count, stage=name: advance(count, stage),
                    on_cached=lambda count, stage=name: advance(count, stage, cached=True), engine=workers,
                    model_source=str(model_name),
                    on_shard=lambda done, shards, stage=name: bar.set_postfix_str(f"{stage}: shard {done}/{shards}"))
                record["timing"]["explain"] = time.perf_counter() - started
                used = [i for i in ids if file.get(i) is not None]
                record["errors"] = {i: file.error(i) for i in ids if file.error(i) is not None}
                record["n"] = len(used)
                examples = [(list(file.get(i)["words"]), ranking_of(file.get(i)["scores"], ranking)) for i in used]
                for spec in map(metric_spec, metrics):
                    if not spec.applies_to_texts:
                        continue
                    tracker.set_stage(f"{name}: {spec.name}")
                    metric_started = time.perf_counter()
                    settings = spec.settings(seed, operation, aopc_k, ranking, unit, evaluator_key)
                    if not examples:
                        continue
                    key = store.metric_key(fingerprint, name, key_params, spec.name, settings, used)
                    result = store.get_metric(key)
                    if result is None:
                        lm = get_likelihood() if spec.needs_likelihood(settings) else None
                        result = compute_metric(spec.name, metric_scorer, examples, settings, lm,
                                                unk_token_for(evaluator_model), [label_of[i] for i in used])
                        store.put_metric(key, result)
                    record["metrics"][spec.name] = spec.public(result)
                    record["timing"][spec.name] = time.perf_counter() - metric_started
                record["seconds"] = time.perf_counter() - started
    finally:
        bar.close()
        if workers is not engine:  # built here from a name: ours to stop
            workers.close()
    return records
