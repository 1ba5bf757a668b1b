"""core.evaluation.metric_specs: one registered spec per metric; the store keys of the old code are unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation import common
from core.evaluation.metric_specs import (METRIC_SPECS, MetricSpec, metric_spec, register_metric,
                                          unregister_metric)
from core.evaluation.pairs import PAIR_METRICS
from core.evaluation.runner import check_arguments

FRACTIONS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
K_VALUES = list(range(1, 11))

# (metric, seed, operation, aopc_k, ranking, unit, evaluator) -> the settings the code before the specs gave
PINNED = [
    (("aopc", 0, "remove", 10, "signed", "probability", None), {"k_max": 10, "operation": "remove"}),
    (("aopc", 3, "mlm", 5, "magnitude", "accuracy", "abc"),
     {"k_max": 5, "operation": "mlm", "ranking": "magnitude", "unit": "accuracy", "evaluator": "abc",
      "likelihood": "mlm", "seed": 3}),
    (("posthoc", 0, "zero", 10, "signed", "accuracy", None), {"k_values": K_VALUES, "unit": "accuracy"}),
    (("degradation", 3, "unk", 5, "magnitude", "probability", None),
     {"fractions": FRACTIONS, "operation": "unk", "ranking": "magnitude"}),
    (("degradation", 3, "mlm", 10, "signed", "accuracy", None),
     {"fractions": FRACTIONS, "operation": "mlm", "likelihood": "mlm", "seed": 3}),
    (("auc_rep", 3, "remove", 10, "signed", "accuracy", "abc"),
     {"max_fraction": 0.2, "likelihood": "mlm", "curve_points": 11, "evaluator": "abc", "seed": 3}),
    # the pair runner's keys (no unit, no evaluator; "pad" is kept in the key)
    (("aopc", 3, "pad", 5, "magnitude", "probability", None), {"k_max": 5, "operation": "pad", "ranking": "magnitude"}),
    (("posthoc", 0, "pad", 10, "signed", "probability", None), {"k_values": K_VALUES}),
    (("degradation", 0, "pad", 10, "signed", "probability", None), {"fractions": FRACTIONS, "operation": "pad"}),
]


@pytest.mark.parametrize("args, expected", PINNED, ids=[f"{a[0]}-{a[2]}-{i}" for i, (a, _) in enumerate(PINNED)])
def test_settings_are_the_store_keys_of_before(args, expected):
    metric, seed, operation, aopc_k, ranking, unit, evaluator = args
    assert common.metric_params(*args) == expected
    assert metric_spec(metric).settings(seed, operation, aopc_k, ranking, unit, evaluator) == expected
    assert metric_spec(metric).needs_likelihood(expected) == (metric == "auc_rep" or operation == "mlm")


def test_the_builtin_specs_keep_the_order_labels_and_directions():
    assert list(METRIC_SPECS) == ["aopc", "posthoc", "degradation", "auc_rep", "comprehensiveness", "sufficiency"]
    assert list(common.METRICS) == list(METRIC_SPECS) and list(PAIR_METRICS) == ["aopc", "posthoc", "degradation"]
    for spec in METRIC_SPECS.values():
        assert isinstance(spec.label, str) and spec.label and isinstance(spec.higher_is_better, bool)
        assert spec.applies_to_texts or spec.applies_to_pairs
    assert dict(common.METRIC_LABELS) == {"aopc": "AOPC", "posthoc": "post-hoc accuracy",
                                          "degradation": "degradation (MoRF/LeRF)",
                                          "auc_rep": "AUC_rep (MLM replacement)",
                                          "comprehensiveness": "comprehensiveness (ERASER)",
                                          "sufficiency": "sufficiency (ERASER)"}
    assert dict(common.HIGHER_IS_BETTER) == {"aopc": True, "posthoc": True, "degradation": True, "auc_rep": False,
                                             "comprehensiveness": True, "sufficiency": False}
    assert common.METRIC_PARAMS["posthoc"] == {"k_values": K_VALUES}
    common.METRIC_PARAMS["posthoc"]["k_values"].append(11)  # a copy: the defaults cannot be changed through it
    assert metric_spec("posthoc").settings(0) == {"k_values": K_VALUES}


def test_posthoc_is_stored_with_string_keys_and_returned_with_integers():
    stored = {"1": 0.5, "2": 1.0}
    assert common.public_result("posthoc", stored) == {1: 0.5, 2: 1.0}
    assert common.public_result("aopc", {"value": 0.1}) == {"value": 0.1}


def mean_words(scorer, examples, settings, likelihood, unk_token, labels=None):
    """The mean number of words of the examples the scorer reads (a test metric)."""
    scorer([list(words) for words, _ in examples])
    return {"value": float(np.mean([len(words) for words, _ in examples])), "scale": settings["scale"]}


@pytest.fixture
def mean_words_metric():
    spec = register_metric(MetricSpec("mean_words", "mean words", False, mean_words, {"scale": 1},
                                      applies_to_pairs=False))
    try:
        yield spec
    finally:
        unregister_metric("mean_words")
    assert "mean_words" not in common.METRICS


def test_a_registered_metric_is_listed_and_computed(mean_words_metric):
    assert list(common.METRICS)[-1] == "mean_words" and "mean_words" in common.METRICS
    assert "mean_words" not in PAIR_METRICS
    assert common.METRIC_LABELS["mean_words"] == "mean words" and common.HIGHER_IS_BETTER["mean_words"] is False
    settings = common.metric_params("mean_words", 0, "mlm", 5, "magnitude", "accuracy", "abc")
    assert settings == {"scale": 1, "ranking": "magnitude", "evaluator": "abc"}  # it takes no operation, k, unit
    assert not mean_words_metric.needs_likelihood(settings)
    scored = []

    def scorer(word_lists):
        scored.append(len(word_lists))
        return np.full((len(word_lists), 2), 0.5)

    examples = [(["a", "b"], [1, 0]), (["a", "b", "c", "d"], [0, 1, 2, 3])]
    assert common.compute_metric("mean_words", scorer, examples, settings, None, "<unk>") == {"value": 3.0, "scale": 1}
    assert scored == [2]
    assert check_arguments(["zero"], ["mean_words", "aopc"], 1)[1] == ["mean_words", "aopc"]
    with pytest.raises(ValueError, match="already registered"):
        register_metric(MetricSpec("mean_words", "again", True, mean_words))


def test_the_runner_computes_a_registered_metric(masklens_home, mean_words_metric):
    from core.evaluation import evaluate

    record = evaluate("cnn-vmask-movie-snippets", explainers=["zero"], metrics=["mean_words"], n=3, device="cpu",
                      progress=False)[0]
    assert set(record["metrics"]) == {"mean_words"} and record["metrics"]["mean_words"]["scale"] == 1
    assert record["metrics"]["mean_words"]["value"] > 0
    again = evaluate("cnn-vmask-movie-snippets", explainers=["zero"], metrics=["mean_words"], n=3, device="cpu",
                     progress=False)[0]
    assert again["metrics"] == record["metrics"] and again["explained"] == 0


def test_an_unknown_metric_lists_the_names():
    names = "aopc, posthoc, degradation, auc_rep"
    with pytest.raises(ValueError, match=f"unknown metric 'nope'; choose from {names}"):
        metric_spec("nope")
    with pytest.raises(ValueError, match=f"choose from {names}"):
        common.metric_params("nope", 0)
    with pytest.raises(ValueError, match=f"unknown metric 'nope'; choose from {names}"):
        check_arguments(["zero"], ["aopc", "nope"], 1)


def test_a_spec_refuses_an_unknown_setting():
    with pytest.raises(ValueError, match="takes unknown settings"):
        MetricSpec("bad", "bad", True, mean_words, takes=frozenset({"temperature"}))
