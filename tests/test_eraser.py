"""ERASER comprehensiveness and sufficiency: by hand on an additive stub model, through the runner, bad thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.evaluation import evaluate
from core.evaluation.common import compute_metric
from core.evaluation.metric_specs import metric_spec
from core.evaluation.store import _metric_result_problem
from core.metrics import ZeroedWord, comprehensiveness, sufficiency
from core.metrics.eraser import THRESHOLDS, rationale_size

WEIGHTS = {"a": 2.0, "b": 1.0, "c": -0.5, "d": 0.25, "e": 0.0}  # any other word (<unk>) weighs 0
WORDS = ["a", "b", "c", "d", "e"]  # sum 2.75: positive
RANKING = [0, 1, 3, 4, 2]  # a, b, d, e, c
NEGATIVE = (["c", "d"], [0, 1])  # sum -0.25: the explained class is negative


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def additive_scorer(seen: list | None = None):
    """p(positive) = sigmoid(sum of word weights; a zeroed word weighs 0), classes [negative, positive];
    every scored word list is appended to ``seen``."""
    def score(word_lists):
        if seen is not None:
            seen.extend(list(words) for words in word_lists)
        p = np.array([sig(sum(0.0 if isinstance(w, ZeroedWord) else WEIGHTS.get(w, 0.0) for w in words))
                      for words in word_lists])
        return np.stack([1 - p, p], 1) if len(p) else np.zeros((0, 2))
    return score


def test_rationale_size_is_the_ceiling_with_at_least_one_word():
    assert [rationale_size(t, 5) for t in (0.01, 0.2, 0.4, 0.5, 1.0)] == [1, 1, 2, 3, 5]
    assert rationale_size(0.4, 3) == 2  # ceil(1.2), where rounding would give 1


def test_comprehensiveness_and_sufficiency_by_hand():
    full = sig(2.75)
    # t = 0.2: r = {a}; t = 0.4: r = {a, b} (ceil(1.0) = 1, ceil(2.0) = 2 words)
    compr = [full - sig(2.75 - 2.0), full - sig(2.75 - 3.0)]  # x without a: b c d e; without a, b: c d e
    suff = [full - sig(2.0), full - sig(3.0)]  # only a; only a b
    c = comprehensiveness(additive_scorer(), [(WORDS, RANKING)], (0.2, 0.4))
    s = sufficiency(additive_scorer(), [(WORDS, RANKING)], (0.2, 0.4))
    assert c.thresholds == [0.2, 0.4] and s.thresholds == [0.2, 0.4]
    np.testing.assert_allclose(c.per_threshold, compr, atol=1e-9, rtol=0)
    np.testing.assert_allclose(s.per_threshold, suff, atol=1e-9, rtol=0)
    assert c.value == pytest.approx(np.mean(compr), abs=1e-9) and s.value == pytest.approx(np.mean(suff), abs=1e-9)
    assert s.per_threshold[1] < 0 < c.per_threshold[1]  # keeping a, b is more positive than the text


def test_the_explained_class_is_the_prediction_and_examples_are_averaged():
    p_neg = 1 - sig(-0.25)  # x = c d, predicted negative; r = {c} at both thresholds (ceil(0.4) = ceil(0.8) = 1)
    negative_compr = p_neg - (1 - sig(0.25))  # without c: d
    negative_suff = p_neg - (1 - sig(-0.5))  # only c
    positive_compr = [sig(2.75) - sig(0.75), sig(2.75) - sig(-0.25)]
    c = comprehensiveness(additive_scorer(), [(WORDS, RANKING), NEGATIVE], (0.2, 0.4))
    s = sufficiency(additive_scorer(), [(WORDS, RANKING), NEGATIVE], (0.2, 0.4))
    np.testing.assert_allclose(c.per_example, [np.mean(positive_compr), negative_compr], atol=1e-9, rtol=0)
    np.testing.assert_allclose(c.per_threshold, [(positive_compr[0] + negative_compr) / 2,
                                                 (positive_compr[1] + negative_compr) / 2], atol=1e-9, rtol=0)
    assert s.per_example[1] == pytest.approx(negative_suff, abs=1e-9)
    assert c.value == pytest.approx(np.mean(c.per_example), abs=1e-12)


def test_deletion_uses_the_aopc_operation():
    seen = []
    sufficiency(additive_scorer(seen), [(WORDS, RANKING)], (0.4,), operation="unk")
    assert seen[1:] == [["a", "b", "<unk>", "<unk>", "<unk>"]]  # the full text first, then only a, b kept
    seen.clear()
    comprehensiveness(additive_scorer(seen), [(WORDS, RANKING)], (0.4,), operation="zero")
    assert seen[1] == WORDS and [isinstance(w, ZeroedWord) for w in seen[1]] == [True, True, False, False, False]


def test_the_specs_compute_the_stored_result():
    spec = metric_spec("sufficiency")
    settings = spec.settings(0)
    assert settings == {"thresholds": list(THRESHOLDS), "operation": "remove"} and not spec.higher_is_better
    assert metric_spec("comprehensiveness").higher_is_better
    result = compute_metric("comprehensiveness", additive_scorer(), [(WORDS, RANKING)], {**settings,
                            "thresholds": [0.2, 0.4]}, None, "<unk>")
    assert result["thresholds"] == [0.2, 0.4] and len(result["per_threshold"]) == 2
    assert result["value"] == pytest.approx(np.mean([sig(2.75) - sig(0.75), sig(2.75) - sig(-0.25)]), abs=1e-9)
    assert _metric_result_problem("comprehensiveness", result) is None
    assert _metric_result_problem("sufficiency", {**result, "value": "high"}) == "malformed sufficiency result"
    assert _metric_result_problem("sufficiency", {**result, "per_threshold": ["x"]}) == "malformed sufficiency result"


@pytest.mark.parametrize("thresholds", [(0,), (0.2, 1.5), (), (float("nan"),), ("ten",), None],
                         ids=["zero", "above-one", "empty", "nan", "text", "none"])
@pytest.mark.parametrize("metric", [comprehensiveness, sufficiency], ids=["comprehensiveness", "sufficiency"])
def test_bad_thresholds_are_refused(metric, thresholds):
    with pytest.raises(ValueError, match=r"thresholds must be .*\(0, 1\]"):
        metric(additive_scorer(), [(WORDS, RANKING)], thresholds)


def test_through_the_runner_stored_and_served_from_the_store(masklens_home, monkeypatch):
    args = dict(explainers=("zero",), metrics=("comprehensiveness", "sufficiency"), n=3, device="cpu", progress=False)
    first = evaluate("cnn-vmask-movie-snippets", **args)[0]
    assert first["n"] == 3 and set(first["metrics"]) == {"comprehensiveness", "sufficiency"}
    for name in ("comprehensiveness", "sufficiency"):
        result = first["metrics"][name]
        assert result["thresholds"] == list(THRESHOLDS) and len(result["per_threshold"]) == 5
        assert all(-1 <= v <= 1 for v in result["per_threshold"])
        assert result["value"] == pytest.approx(np.mean(result["per_threshold"]), abs=1e-12)
    stored = sorted(p.name.split("-")[0] for p in (masklens_home / "evaluations").glob("*/metrics/*.json"))
    assert stored == ["comprehensiveness", "sufficiency"]
    import core.evaluation.runner as runner

    def no_metric(*args, **kwargs):
        raise AssertionError("metric recomputed instead of read from the store")

    monkeypatch.setattr(runner, "compute_metric", no_metric)
    second = evaluate("cnn-vmask-movie-snippets", **args)[0]
    assert second["explained"] == 0 and second["metrics"] == first["metrics"]


def test_the_faithfulness_page_offers_draws_and_tabulates_them(masklens_home):
    from tests.test_faithfulness_page import _page, _set

    at = _page(masklens_home)
    options = next(m for m in at.multiselect if m.label == "Metrics").options
    assert {"comprehensiveness (ERASER)", "sufficiency (ERASER)"} <= set(options)
    _set(at, "cnn-vmask-movie-snippets", ["zero"], ["comprehensiveness", "sufficiency"], 3)
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    assert "Comprehensiveness" in charts[0].proto.spec and "threshold" in charts[1].proto.spec
    table = at.dataframe[0].value
    record = at.session_state["faithfulness_results"]["records"][0]
    assert table["comprehensiveness"].iloc[0] == pytest.approx(record["metrics"]["comprehensiveness"]["value"])
    assert table["sufficiency"].iloc[0] == pytest.approx(record["metrics"]["sufficiency"]["value"])


@pytest.mark.parametrize("examples", [[], [([], [])], [(WORDS, [0, 1, 2])], [(WORDS, [0, 0, 1, 2, 3])]],
                         ids=["none", "no-words", "short-ranking", "repeated-index"])
def test_bad_examples_are_refused(examples):
    with pytest.raises(ValueError, match="no examples|no words|must order every word|permutation"):
        comprehensiveness(additive_scorer(), examples)
