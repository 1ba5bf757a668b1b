"""Budgeted input marginalization: the plan, the estimate by hand, unbiasedness, and the explainer's modes."""

import math

import numpy as np
import pytest

from core.explain import ExplainError, explain
from core.explain.marginal import (DEFAULT_BUDGET, InputMarginalization, PositionBudget, budget_position,
                                   log2_odds_slope, marginalize_reference, resolve_budget)
from tests.test_explain import SUB_TEXT, TableLikelihood, hand, tiny_bert  # noqa: F401  fixtures

WORDS = ["good", "bad", "fine", "dull", "great", "awful", "nice", "poor", "superb", "weak", "film", "plot",
         "cast", "story", "scene", "actor", "music", "ending", "script", "movie"]


def zipf_weights(k: int) -> np.ndarray:
    """[k] weights proportional to 1 / rank, most likely first, summing to 1."""
    weights = 1.0 / np.arange(1, k + 1)
    return weights / weights.sum()


def test_a_position_within_the_budget_is_exact():
    plan = budget_position(zipf_weights(6), budget=6, rng=np.random.default_rng(0))
    assert plan.head == 6 and plan.draws.size == 0 and plan.tail_mass == 0.0
    assert plan.evaluated.tolist() == list(range(6))
    assert budget_position(zipf_weights(6), None, np.random.default_rng(0)).head == 6


def test_a_budgeted_plan_spends_at_most_the_budget():
    plan = budget_position(zipf_weights(500), budget=32, rng=np.random.default_rng(1))
    assert plan.head == 16 and plan.draws.size == 16 and (plan.draws >= 16).all()
    assert len(plan.evaluated) <= 32
    assert plan.tail_mass == pytest.approx(zipf_weights(500)[16:].sum())


def test_the_estimate_and_its_standard_error_by_hand():
    weights, probs = np.array([0.4, 0.3, 0.2, 0.1]), np.array([0.9, 0.8, 0.5, 0.1])
    plan = PositionBudget(head=2, draws=np.array([2, 3, 3]), tail_mass=0.3)
    assert plan.evaluated.tolist() == [0, 1, 2, 3]
    p, se = plan.estimate(weights, probs)
    draws = [0.5, 0.1, 0.1]
    assert p == pytest.approx(0.4 * 0.9 + 0.3 * 0.8 + 0.3 * np.mean(draws), abs=1e-12)
    assert se == pytest.approx(0.3 * np.std(draws, ddof=1) / math.sqrt(3), abs=1e-12)


def test_the_budgeted_estimate_is_unbiased_and_its_error_is_calibrated():
    rng = np.random.default_rng(0)
    weights, probs = zipf_weights(200), rng.uniform(size=200)
    exact = float(weights @ probs)
    estimates = []
    for seed in range(3000):
        plan = budget_position(weights, 16, np.random.default_rng(seed))
        estimates.append(plan.estimate(weights, probs[plan.evaluated]))
    values, ses = np.array(estimates).T
    assert abs(values.mean() - exact) < 4 * values.std() / math.sqrt(len(values))
    assert np.sqrt(np.mean(ses ** 2)) == pytest.approx(values.std(), rel=0.15)


def test_log2_odds_slope_is_the_derivative():
    p, h = 0.3, 1e-6
    numeric = (math.log2((p + h) / (1 - p - h)) - math.log2((p - h) / (1 - p + h))) / (2 * h)
    assert float(log2_odds_slope(np.array([p]))[0]) == pytest.approx(numeric, rel=1e-6)


def test_auto_is_exact_on_word_models_and_budgeted_on_transformers(hand, tiny_bert):  # noqa: F811
    assert resolve_budget("auto", hand) is None and resolve_budget("exact", tiny_bert) is None
    assert resolve_budget("auto", tiny_bert) == DEFAULT_BUDGET and resolve_budget(64, hand) == 64
    lm = TableLikelihood(WORDS, zipf_weights(len(WORDS)))
    assert InputMarginalization(hand, lm).params["mode"] == "exact"
    e = explain(tiny_bert, SUB_TEXT, methods=["marginal"], likelihood=lm).get("marginal")
    assert e.params["mode"] == "budgeted" and e.params["budget"] == DEFAULT_BUDGET and e.seed == 0


@pytest.mark.parametrize("budget", [3, 0, -5, 2.5, "fast", True])
def test_a_bad_budget_is_refused(tiny_bert, budget):  # noqa: F811
    with pytest.raises(ExplainError, match="budget must be"):
        InputMarginalization(tiny_bert, TableLikelihood(WORDS, zipf_weights(len(WORDS))), budget=budget)


def test_budgeted_marginalization_on_a_wordpiece_model(tiny_bert):  # noqa: F811
    lm = TableLikelihood(WORDS, zipf_weights(len(WORDS)))
    exact = InputMarginalization(tiny_bert, lm, budget="exact").explain(SUB_TEXT)
    reference, _ = marginalize_reference(tiny_bert, tiny_bert.encode([SUB_TEXT]), exact.target, lm)
    assert exact.scores == pytest.approx(reference, abs=1e-5) and exact.seed is None
    assert exact.details["score_se"] == [0.0] * 4 and exact.details["n_evaluated"] == [20] * 4

    budgeted = InputMarginalization(tiny_bert, lm, budget=8, seed=3).explain(SUB_TEXT, target=exact.target)
    assert budgeted.params["mode"] == "budgeted" and budgeted.seed == 3
    assert budgeted.details["n_candidates"] == [20] * 4 and max(budgeted.details["n_evaluated"]) <= 8
    assert all(se > 0 for se in budgeted.details["p_without_se"])
    difference = np.abs(np.array(budgeted.details["p_without"]) - np.array(exact.details["p_without"]))
    assert (difference <= 4 * np.array(budgeted.details["p_without_se"])).all()
    again = InputMarginalization(tiny_bert, lm, budget=8, seed=3).explain(SUB_TEXT, target=exact.target)
    other = InputMarginalization(tiny_bert, lm, budget=8, seed=4).explain(SUB_TEXT, target=exact.target)
    assert again.scores == budgeted.scores and other.scores != budgeted.scores
    assert InputMarginalization(tiny_bert, lm, budget=20).explain(SUB_TEXT).scores == exact.scores


def test_store_keys_name_the_mode_and_build_the_same_explainer(hand, tiny_bert):  # noqa: F811
    from core.evaluation.common import explainer_params

    assert explainer_params("marginal", 0, None, hand) == {"likelihood": "mlm"}           # as before the budget
    assert explainer_params("marginal", 0, {"budget": "exact"}, hand) == {"likelihood": "mlm"}
    assert explainer_params("marginal", 5, None, tiny_bert) == {"likelihood": "mlm", "budget": DEFAULT_BUDGET,
                                                                 "seed": 5}
    exact_key = explainer_params("marginal", 5, {"budget": "exact"}, tiny_bert)
    assert exact_key == {"likelihood": "mlm", "budget": "exact"}
    lm = TableLikelihood(WORDS, zipf_weights(len(WORDS)))
    built = InputMarginalization(tiny_bert, lm, **{k: v for k, v in exact_key.items() if k != "likelihood"})
    assert built.params["mode"] == "exact"
    assert explainer_params("lime", 1, None, hand) == {"seed": 1, "version": 2}          # LIME's new algorithm
    assert explainer_params("zero", 1, None, hand) == {}


def test_estimate_seconds_is_the_expected_passes_times_one_timed_pass(hand, monkeypatch):  # noqa: F811
    import core.explain.registry as registry

    monkeypatch.setattr(registry, "seconds_per_pass", lambda features, rows=64: 0.01)
    lm = TableLikelihood(["good", "bad", "movie"], [0.5, 0.3, 0.2])
    estimates = registry.estimate_seconds(hand, "the good movie", ["zero", "marginal", "lime", "vmask"],
                                          likelihood=lm, lime={"n_samples": 50})
    # zero: 3 erased variants + the input; marginal: 3 candidates per word + 1; lime: 2^3 distinct rows + 1
    assert estimates["zero"] == pytest.approx(0.04) and estimates["marginal"] == pytest.approx(0.10)
    assert estimates["lime"] == pytest.approx(0.09) and "vmask" not in estimates       # skipped: no mask
    capped = registry.estimate_seconds(hand, "the good movie", ["marginal"], likelihood=lm, budget=4)
    assert capped["marginal"] == pytest.approx(0.10)                      # 3 candidates fit a budget of 4
