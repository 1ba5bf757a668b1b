"""Metrics against hand computations on an additive stub model, plus a smoke test with a real toy model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.explain.base import Explanation
from core.lm.base import LikelihoodModel
from core.metrics import (ZeroedWord, agreement_matrix, aopc, auc_rep, degradation, delete_words, deletion_chain,
                          examples_from_explanations, frequency_importance, kendall_tau, model_scorer, perturb,
                          posthoc_accuracy, top_k_overlap)

WEIGHTS = {"good": 2.0, "bad": -1.0, "movie": 0.5}  # every other word (the, <unk>, ...) weighs 0


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def additive_scorer(weights: dict[str, float]):
    """p(positive | words) = sigmoid(sum of word weights; a zeroed word weighs 0); classes [negative, positive]."""
    def score(word_lists):
        p = np.array([sig(sum(0.0 if isinstance(w, ZeroedWord) else weights.get(w, 0.0) for w in words))
                      for words in word_lists])
        return np.stack([1 - p, p], 1) if len(p) else np.zeros((0, 2))
    return score


SCORER = additive_scorer(WEIGHTS)
SENTENCE = ["good", "bad", "movie"]  # sum 1.5: predicted positive
PERFECT = [0, 2, 1]  # good (+2), movie (+0.5), bad (-1)


class OneWordLM(LikelihoodModel):
    """Puts all mass on ``vocabulary[target]``; records the texts it was asked about."""

    name = "one-word"

    def __init__(self, vocabulary, target=0, probs=None):
        self.vocabulary, self.target, self.probs, self.calls = list(vocabulary), target, probs, []

    def distribution(self, words, positions):
        self.calls.append((list(words), list(positions)))
        if self.probs is not None:
            return np.tile(np.asarray(self.probs, dtype=float), (len(positions), 1))
        rows = np.zeros((len(positions), len(self.vocabulary)))
        rows[:, self.target] = 1.0
        return rows


# ---------------------------------------------------------------------------------------------- perturbations

def test_delete_and_unk():
    assert delete_words(SENTENCE, {0, 2}) == ["bad"]
    assert perturb(SENTENCE, {1}, "unk") == ["good", "<unk>", "movie"]
    assert perturb(SENTENCE, {1}, "unk", unk_token="[UNK]") == ["good", "[UNK]", "movie"]
    zeroed = perturb(SENTENCE, {0, 2}, "zero")
    assert zeroed == SENTENCE and [type(w) for w in zeroed] == [ZeroedWord, str, ZeroedWord]
    with pytest.raises(ValueError, match="unknown operation"):
        perturb(SENTENCE, {1}, "blank")
    with pytest.raises(ValueError, match="deletion_chain"):
        perturb(SENTENCE, {1}, "mlm")


def test_deletion_chain_mlm_conditions_on_earlier_replacements():
    lm = OneWordLM(["the", "bad"], target=0)
    chain = deletion_chain(SENTENCE, [2, 0, 1], [0, 1, 2], "mlm", likelihood=lm, rng=np.random.default_rng(0))
    assert chain == [SENTENCE, ["good", "bad", "the"], ["the", "bad", "the"]]
    assert lm.calls == [(SENTENCE, [2]), (["good", "bad", "the"], [0])]  # the 2nd sample sees the 1st
    assert deletion_chain(SENTENCE, [2, 0, 1], [5], "mlm", likelihood=lm, rng=np.random.default_rng(0)) == [
        ["the"] * 3]
    zeroed = deletion_chain(SENTENCE, [2, 0, 1], [1, 3], "zero")
    assert [[isinstance(w, ZeroedWord) for w in words] for words in zeroed] == [[False, False, True], [True] * 3]
    with pytest.raises(ValueError, match="likelihood"):
        deletion_chain(SENTENCE, [2, 0, 1], [1], "mlm")


# ---------------------------------------------------------------------------------------------- AOPC

def test_aopc_by_hand():
    result = aopc(SCORER, [(SENTENCE, PERFECT)], k_max=3)
    full = sig(1.5)
    expected = [full - sig(-0.5), full - sig(-1.0), full - sig(0.0)]
    assert result.per_k == pytest.approx(expected, abs=1e-6)
    assert result.value == pytest.approx(sum(expected) / 4, abs=1e-6)  # 1/(K+1), GMASK eq. 9


def test_aopc_k_beyond_length_removes_everything_and_unk_operation():
    result = aopc(SCORER, [(SENTENCE, PERFECT)], k_max=5)
    assert result.per_k[3] == pytest.approx(sig(1.5) - 0.5, abs=1e-6)
    assert result.value == pytest.approx(sum(result.per_k) / 6, abs=1e-6)
    # with an additive model where unknown words weigh 0, "unk" equals "remove"
    unk = aopc(SCORER, [(SENTENCE, PERFECT)], k_max=3, operation="unk")
    assert unk.per_k == pytest.approx(aopc(SCORER, [(SENTENCE, PERFECT)], k_max=3).per_k, abs=1e-12)


def test_aopc_and_degradation_zero_and_mlm_operations_by_hand():
    # the additive stub reads a zeroed word and the LM's "the" as weight 0, so both equal "remove"
    examples = [(SENTENCE, PERFECT), (["bad", "movie", "the"], [0, 2, 1])]
    removed = aopc(SCORER, examples, k_max=3)
    lm = OneWordLM(["the", "bad"], target=0)
    for operation, extra in (("zero", {}), ("mlm", {"likelihood": lm, "seed": 3})):
        assert aopc(SCORER, examples, k_max=3, operation=operation, **extra).per_k == pytest.approx(
            removed.per_k, abs=1e-12)
        assert degradation(SCORER, examples, operation=operation, **extra).score == pytest.approx(
            degradation(SCORER, examples).score, abs=1e-12)
    # an LM that always proposes "bad" (-1) is a different deletion: p(y|x - good) = sigmoid(-1.5 + 0.5 - 1)
    bad_lm = OneWordLM(["the", "bad"], target=1)
    result = aopc(SCORER, [(SENTENCE, PERFECT)], k_max=1, operation="mlm", likelihood=bad_lm)
    assert result.per_k == pytest.approx([sig(1.5) - sig(-1 + 0.5 - 1)], abs=1e-9)
    with pytest.raises(ValueError, match="likelihood"):
        aopc(SCORER, examples, operation="mlm")


def test_aopc_negative_prediction_uses_predicted_class():
    words = ["bad", "movie"]  # sum -0.5: predicted negative, p = sigmoid(0.5)
    result = aopc(SCORER, [(words, [0, 1])], k_max=2)
    assert result.per_k == pytest.approx([sig(0.5) - sig(-0.5), sig(0.5) - 0.5], abs=1e-6)


def _random_examples(rng, weights, n_examples=20, n_words=12):
    vocab = list(weights)
    examples = []
    for _ in range(n_examples):
        words = list(rng.choice(vocab, size=n_words))
        total = sum(weights[w] for w in words)
        sign = 1.0 if total >= 0 else -1.0  # toward the predicted class
        perfect = sorted(range(n_words), key=lambda i: -sign * weights[words[i]])
        examples.append((words, perfect))
    return examples


def test_perfect_ranking_beats_random_and_reversed():
    rng = np.random.default_rng(0)
    weights = {f"w{i}": float(v) for i, v in enumerate(rng.normal(0, 1.5, 30))}
    scorer = additive_scorer(weights)
    examples = _random_examples(rng, weights)
    reversed_examples = [(w, r[::-1]) for w, r in examples]
    perfect_aopc = aopc(scorer, examples, k_max=5).value
    for seed in range(5):
        shuffled = [(w, list(np.random.default_rng(seed).permutation(len(w)))) for w, _ in examples]
        assert perfect_aopc >= aopc(scorer, shuffled, k_max=5).value
    assert degradation(scorer, examples).score > degradation(scorer, reversed_examples).score
    assert degradation(scorer, examples).score > 0


# ---------------------------------------------------------------------------------------------- post-hoc accuracy

def test_posthoc_accuracy_by_hand():
    examples = [(SENTENCE, PERFECT), (SENTENCE, [1, 0, 2])]
    # second example: top-1 = "bad" -> negative (wrong); top-2 = "good bad" (original order) -> positive
    assert posthoc_accuracy(SCORER, examples, k_values=[1, 2, 3, 10]) == {1: 0.5, 2: 1.0, 3: 1.0, 10: 1.0}


def test_posthoc_keeps_original_order():
    seen = []

    def recording(word_lists):
        seen.extend(word_lists)
        return SCORER(word_lists)

    posthoc_accuracy(recording, [(SENTENCE, [2, 0, 1])], k_values=[2])
    assert ["good", "movie"] in seen


# ---------------------------------------------------------------------------------------------- degradation

def test_degradation_single_example_by_hand():
    result = degradation(SCORER, [(SENTENCE, PERFECT)], fractions=[0, 1 / 3, 2 / 3, 1])
    full, empty = sig(1.5), 0.5
    morf_p = [full, sig(-0.5), sig(-1.0), empty]  # remove good; good+movie; all
    lerf_p = [full, sig(2.5), sig(2.0), empty]  # remove bad; bad+movie; all
    morf = [(p - empty) / (full - empty) for p in morf_p]
    lerf = [(p - empty) / (full - empty) for p in lerf_p]
    assert result.morf == pytest.approx(morf, abs=1e-6)
    assert result.lerf == pytest.approx(lerf, abs=1e-6)
    gaps = [l - m for l, m in zip(lerf, morf)]
    expected = sum((gaps[i] + gaps[i + 1]) / 2 * (1 / 3) for i in range(3))
    assert result.score == pytest.approx(expected, abs=1e-6)


def test_degradation_averages_probabilities_before_normalising():
    # example 2 is predicted negative: y = 0, p(y|x) = sigmoid(0.5); ranking: bad first
    examples = [(SENTENCE, PERFECT), (["bad", "movie"], [0, 1])]
    result = degradation(SCORER, examples, fractions=[0, 0.5, 1])
    full = (sig(1.5) + sig(0.5)) / 2
    empty = 0.5
    # rho = 0.5: 3 words -> round(1.5) = 2 removed (halves up); 2 words -> 1 removed
    morf_half = (sig(-1.0) + sig(-0.5)) / 2  # ex1 keeps "bad"; ex2 keeps "movie" (p(neg) = 1 - sig(0.5))
    lerf_half = (sig(2.0) + sig(1.0)) / 2  # ex1 keeps "good"; ex2 keeps "bad" (p(neg) = sig(1))
    s_m, s_l = (morf_half - empty) / (full - empty), (lerf_half - empty) / (full - empty)
    assert result.morf == pytest.approx([1, s_m, 0], abs=1e-6)
    assert result.lerf == pytest.approx([1, s_l, 0], abs=1e-6)
    assert result.score == pytest.approx(0.5 * (s_l - s_m), abs=1e-6)


def test_degradation_undefined_normalisation_is_nan():
    result = degradation(additive_scorer({}), [(["x", "y"], [0, 1])])
    assert np.isnan(result.morf).all() and np.isnan(result.score)


# ---------------------------------------------------------------------------------------------- AUC_rep

def test_auc_rep_by_hand():
    words = ["good", "bad"] + ["the"] * 8  # n = 10, sum 1: positive; 20% = 2 steps
    ranking = [0, 2, 3, 4, 5, 6, 7, 8, 9, 1]
    lm = OneWordLM(["movie", "the"])
    result = auc_rep(SCORER, lm, [(words, ranking)], max_fraction=0.2)
    curve = [sig(1.0), sig(-0.5), sig(0.0)]  # good -> movie; then the -> movie
    fractions, probs = result.curves[0]
    assert fractions == pytest.approx([0, 0.1, 0.2])
    assert probs == pytest.approx(curve, abs=1e-6)
    area = 0.1 * (curve[0] + curve[1]) / 2 + 0.1 * (curve[1] + curve[2]) / 2
    assert result.value == pytest.approx(area / 0.2, abs=1e-6)
    # the second replacement is asked about the text that already holds the first one
    assert lm.calls == [(words, [0]), (["movie", "bad"] + ["the"] * 8, [2])]
    assert result.mean_curve([0, 0.05, 0.2]) == pytest.approx([curve[0], (curve[0] + curve[1]) / 2, curve[2]])


def test_auc_rep_mean_curve_averages_examples_and_holds_short_curves():
    lm = OneWordLM(["the"])
    # n = 10 -> r_max = 0.2; n = 3 -> 1 step, r_max = 1/3: at r = 0.2 the line from p0 to p1 is at 0.6 of the way
    examples = [(["good"] + ["the"] * 9, list(range(10))), (SENTENCE, PERFECT)]
    result = auc_rep(SCORER, lm, examples, max_fraction=0.2)
    first = [sig(2.0), sig(0.0), sig(0.0)]
    second_at = sig(1.5) + 0.6 * (sig(-0.5) - sig(1.5))
    assert result.mean_curve([0.0, 0.2]) == pytest.approx([(first[0] + sig(1.5)) / 2, (first[2] + second_at) / 2])


def test_auc_rep_seeded_sampling_and_short_texts():
    lm = OneWordLM(["movie", "bad", "good"], probs=[0.2, 0.2, 0.3])  # rows may sum to < 1
    examples = [(SENTENCE, PERFECT), (["good", "movie", "the", "the", "the"], [0, 1, 2, 3, 4])]
    first = auc_rep(SCORER, lm, examples, seed=3)
    assert auc_rep(SCORER, lm, examples, seed=3).value == first.value
    assert [len(f) for f, _ in first.curves] == [2, 2]  # round(0.6) = 1 and round(1.0) = 1 steps
    with pytest.raises(ValueError, match="no probability mass"):
        auc_rep(SCORER, OneWordLM(["a"], probs=[0.0]), examples)


# ---------------------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call", [
    lambda: aopc(SCORER, [(SENTENCE, PERFECT)], k_max=0),
    lambda: aopc(SCORER, []),
    lambda: aopc(SCORER, [(SENTENCE, [0, 1])]),
    lambda: aopc(SCORER, [(SENTENCE, [0, 0, 1])]),
    lambda: aopc(SCORER, [([], [])]),
    lambda: posthoc_accuracy(SCORER, []),
    lambda: posthoc_accuracy(SCORER, [(SENTENCE, PERFECT)], k_values=[0]),
    lambda: degradation(SCORER, []),
    lambda: degradation(SCORER, [(SENTENCE, [2, 1])]),
    lambda: degradation(SCORER, [(SENTENCE, PERFECT)], fractions=[0.5, 0.2]),
    lambda: auc_rep(SCORER, OneWordLM(["a"]), []),
    lambda: auc_rep(SCORER, OneWordLM(["a"]), [(SENTENCE, PERFECT)], max_fraction=0),
])
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()


def test_bad_input_messages():
    with pytest.raises(ValueError, match="k_max must be at least 1"):
        aopc(SCORER, [(SENTENCE, PERFECT)], k_max=0)
    with pytest.raises(ValueError, match="example list is empty"):
        aopc(SCORER, [])
    with pytest.raises(ValueError, match="ranking has 2 indices but the text has 3 words"):
        aopc(SCORER, [(SENTENCE, [0, 1])])
    with pytest.raises(ValueError, match=r"scorer must return an array \[1, C\]"):
        aopc(lambda lists: np.zeros(3), [(SENTENCE, PERFECT)])


# ---------------------------------------------------------------------------------------------- importance, agreement

def test_frequency_importance_by_hand():
    result = frequency_importance(["a", "b", "c"], [0.1, 0.5, 0.3], {"a": 1, "b": 3, "c": 2})
    # x = [1, 3, 2], y = [.1, .5, .3] is exactly linear (y = 0.2 x - 0.1)
    assert result.pearson_r == pytest.approx(1.0, abs=1e-9)
    result = frequency_importance(["a", "b", "c", "d"], [1, 3, 2, 4], [1, 2, 3, 4])
    x, y = np.array([1, 2, 3, 4.0]), np.array([1, 3, 2, 4.0])
    r = ((x - x.mean()) * (y - y.mean())).sum() / math.sqrt(((x - x.mean()) ** 2).sum() * ((y - y.mean()) ** 2).sum())
    assert result.pearson_r == pytest.approx(r, abs=1e-6)  # = 0.8
    assert 0 < result.p_value < 1
    assert list(result.table["word"]) == ["d", "b", "c", "a"]
    assert list(result.table.columns) == ["word", "frequency", "importance"]
    with pytest.raises(ValueError, match="same length"):
        frequency_importance(["a", "b"], [1.0], [1, 2])
    with pytest.raises(ValueError, match="undefined"):
        frequency_importance(["a", "b"], [1.0, 2.0], [3, 3])


def test_kendall_and_overlap_by_hand():
    # pairs: 6; a = [1,2,3,4], b = [1,3,2,4]: one discordant pair -> (5 - 1) / 6
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6, abs=1e-6)
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    assert top_k_overlap([4, 3, 2, 1], [4, 1, 3, 2], k=2) == pytest.approx(0.5)
    assert top_k_overlap([4, 3, 2, 1], [1, 2, 3, 4], k=2) == 0.0
    assert top_k_overlap([1, 2], [2, 1], k=5) == 1.0  # k capped at the number of words
    with pytest.raises(ValueError, match="equal length"):
        kendall_tau([1, 2], [1, 2, 3])


def _explanation(text, scores, method):
    words = text.split()
    ranking_scores = list(map(float, scores))
    return Explanation(text=text, words=words, scores=ranking_scores, method=method, target=1, target_name="pos",
                       probs=[0.2, 0.8], predicted=1)


def test_agreement_matrix_uses_shared_texts():
    by_method = {
        "a": [_explanation("w x y z", [1, 2, 3, 4], "a"), _explanation("only a", [1, 2], "a")],
        "b": [_explanation("w x y z", [1, 3, 2, 4], "b")],
    }
    tau, overlap = agreement_matrix(by_method, k=2)
    assert tau.loc["a", "b"] == pytest.approx(4 / 6) and tau.loc["b", "a"] == pytest.approx(4 / 6)
    assert tau.loc["a", "a"] == pytest.approx(1.0)
    assert overlap.loc["a", "b"] == pytest.approx(0.5)  # top-2: a {z, y}, b {z, x}
    with pytest.raises(ValueError, match="no text"):
        agreement_matrix({"a": by_method["a"][1:], "b": by_method["b"]})
    examples = examples_from_explanations(by_method["b"])
    assert examples == [(["w", "x", "y", "z"], [3, 1, 2, 0])]


# ---------------------------------------------------------------------------------------------- real model

@pytest.fixture(scope="module")
def toy_model():
    import torch

    from core.training import TrainSettings, train
    from tests.toy import toy_dataset

    torch.manual_seed(0)
    return train(TrainSettings(architecture="cnn", method="base", epochs=1), data=toy_dataset(), save=False,
                 progress=False).model


def test_model_scorer_smoke(toy_model):
    lists = [["the", "movie", "was", "great"], [], ["awful"], ["the", "plot", "was", "boring", "film"]]
    probs = model_scorer(toy_model)(lists)
    assert probs.shape == (4, 2)
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert np.allclose(model_scorer(toy_model, batch_size=1)(lists), probs, atol=1e-5)
    assert model_scorer(toy_model)([]).shape == (0, 2)
    result = aopc(model_scorer(toy_model), [(lists[0], [3, 0, 1, 2]), (lists[3], [3, 0, 1, 2, 4])], k_max=2)
    assert len(result.per_k) == 2 and np.isfinite(result.value)


@pytest.mark.parametrize("architecture", ["cnn", "minilm"])
def test_model_scorer_zero_matches_zero_erasure_explainer(architecture, toy_model):
    """A None word in the scorer is the zero explainer's erasure: p(y|x_-i) = p(y|x) - score_i (probability)."""
    from core.explain.erasure import ZeroErasure
    from core.models.factory import build_classifier, bundle
    from tests.test_models import TINY_BERT

    model = toy_model
    if architecture == "minilm":
        torch_model = build_classifier("minilm", TINY_BERT, {"kind": "none"}, num_classes=2).eval()
        model = bundle(torch_model, {"architecture": "minilm", "model_config": TINY_BERT,
                                     "label_names": ["neg", "pos"]})
    text = "the plot was unbelievably boring"
    explanation = ZeroErasure(model, measure="probability").explain(text)
    words, target = explanation.words, explanation.target
    p_full = explanation.probs[target]
    variants = [[ZeroedWord(w) if j == i else w for j, w in enumerate(words)] for i in range(len(words))]
    probs = model_scorer(model)(variants)[:, target]
    assert probs == pytest.approx([p_full - s for s in explanation.scores], abs=1e-5)
    assert model_scorer(model)([words])[0, target] == pytest.approx(p_full, abs=1e-5)


def test_model_scorer_wordpiece_empty_text_and_unk_token():
    from core.metrics import unk_token_for
    from core.models.factory import build_classifier, bundle
    from tests.test_models import TINY_BERT

    network = build_classifier("minilm", TINY_BERT, {"kind": "none"}, num_classes=2).eval()
    model = bundle(network, {"architecture": "minilm", "model_config": TINY_BERT, "label_names": ["neg", "pos"]})
    assert unk_token_for(model) == "[UNK]"
    assert model.tokenizer.encode_words([["[UNK]"]]).input_ids[0, 1] == model.tokenizer.unk_id
    probs = model_scorer(model)([[], ["good", "movie"], ["[UNK]"]])
    assert probs.shape == (3, 2) and np.allclose(probs.sum(1), 1.0, atol=1e-5)


# ------------------------------------------------------------------ ranking convention, accuracy unit, evaluator

def test_ranking_signed_or_by_magnitude_by_hand():
    from core.metrics import ranking_of

    scores = [0.5, -2.0, 0.1, 0.5]
    assert ranking_of(scores, "signed") == [0, 3, 2, 1]  # the opposing word goes last
    assert ranking_of(scores, "magnitude") == [1, 0, 3, 2]  # ... or first, by |score|; ties keep word order
    with pytest.raises(ValueError, match="unknown ranking"):
        ranking_of(scores, "absolute")


def test_aopc_in_accuracy_units_by_hand():
    # good +2, bad -1, movie +0.5; removing good, then movie, then bad: sums -0.5, -1, 0 -> negative every time
    positive = aopc(SCORER, [(SENTENCE, PERFECT)], k_max=3, unit="accuracy", labels=[1])
    assert positive.per_k == [1.0, 1.0, 1.0] and positive.value == pytest.approx(0.75)
    negative = aopc(SCORER, [(SENTENCE, PERFECT)], k_max=3, unit="accuracy", labels=[0])
    assert negative.per_k == [-1.0, -1.0, -1.0] and negative.per_example == [pytest.approx(-0.75)]
    with pytest.raises(ValueError, match="needs one gold label per example"):
        aopc(SCORER, [(SENTENCE, PERFECT)], unit="accuracy")


def test_posthoc_against_gold_labels_by_hand():
    # top-1 "good" alone and the whole text are both predicted positive
    assert posthoc_accuracy(SCORER, [(SENTENCE, PERFECT)], [1, 3], unit="accuracy", labels=[0]) == {1: 0.0, 3: 0.0}
    assert posthoc_accuracy(SCORER, [(SENTENCE, PERFECT)], [1, 3], unit="accuracy", labels=[1]) == {1: 1.0, 3: 1.0}


def test_degradation_keeps_its_per_example_inputs():
    from core.metrics import degradation_curves

    examples = [(SENTENCE, PERFECT), (["bad", "movie"], [1, 0])]
    result = degradation(SCORER, examples, [0.0, 0.5, 1.0])
    morf, lerf, score = degradation_curves(result.fractions, **result.per_example)
    assert score == result.score and list(morf) == list(result.morf) and result.per_example["morf"].shape == (2, 3)


def test_evaluator_model_scores_the_perturbed_texts(masklens_home):
    from core.evaluation import evaluate
    from core.evaluation.runner import metric_params
    from core.metrics import model_scorer
    from core.models import load_model

    assert metric_params("aopc", 0) == {"k_max": 10, "operation": "remove"}  # default keys are unchanged
    own = evaluate("cnn-vmask-movie-snippets", explainers=["zero"], metrics=["aopc", "posthoc"], n=15,
                   progress=False)[0]
    judged = evaluate("cnn-vmask-movie-snippets", explainers=["zero"], metrics=["aopc", "posthoc"], n=15,
                      progress=False, evaluator="lstm-base-movie-snippets", unit="accuracy")[0]
    assert judged["explained"] == 0  # the same stored explanations, scored by another model
    import json

    stored = json.loads(next((masklens_home / "evaluations").rglob("zero-*.json")).read_text())["explanations"]
    from core.data.datasets import load_dataset

    test = load_dataset("movie-snippets").test
    label_of = dict(zip(test.ids, test.labels))
    ids = sorted(stored)
    examples = [(stored[i]["words"], sorted(range(len(stored[i]["scores"])), key=lambda j: (-stored[i]["scores"][j], j)))
                for i in ids]
    expected = aopc(model_scorer(load_model("lstm-base-movie-snippets", device="cpu")), examples, k_max=10,
                    unit="accuracy", labels=[label_of[i] for i in ids])
    assert judged["metrics"]["aopc"]["value"] == pytest.approx(expected.value)
    assert judged["metrics"]["aopc"]["value"] != own["metrics"]["aopc"]["value"]
    with pytest.raises(ValueError, match="has classes"):
        evaluate("cnn-vmask-movie-snippets", explainers=["zero"], metrics=["aopc"], n=5, progress=False,
                 evaluator="cnn-base-trec6")
