"""LIME: vectorised sampling, one batched forward and scikit-learn's ridge fit, checked by hand and against captum.

The linear model gives every word a number e(w) and p(positive | x) = 1/2 + sum of e over the
kept words, exactly linear in the keep vector, so an unpenalised surrogate recovers e(w). The
sigmoid model (p = sigmoid(sum)) is not linear; there the scores are checked against LIME's
equations solved by hand and against captum's ``Lime`` fed the very same samples.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from core.data.tokenizers import Vocab, WordTokenizer
from core.explain import ExplainError
from core.explain.features import encode_features
from core.explain.perturbation import (
    LimeExplainer,
    fit_lime_surrogate,
    lime_kernel_weights,
    lime_samples,
    lime_text_kernel,
)
from core.models.base import MaskedTextClassifier
from core.models.factory import LoadedModel

VALUES = {"<pad>": 0.0, "<unk>": 0.0, "good": 0.2, "bad": -0.15, "movie": 0.05, "the": -0.02, "great": 0.1,
          "dull": -0.08, "plot": 0.03}
TEXT = "the good movie"
LONG = "the good movie great plot dull bad"


class LinearHead(nn.Module):
    """Logits (log(1/2 - s), log(1/2 + s)) of the summed value s, so p(positive) = 1/2 + s (|s| < 1/2)."""

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.log(0.5 - s), torch.log(0.5 + s)], -1)


class SumModel(MaskedTextClassifier):
    """e(w) as a 1-d embedding, summed over real positions; ``head`` maps the sum to logits."""

    architecture = "cnn"

    def __init__(self, head: nn.Module):
        super().__init__()
        table = torch.tensor(list(VALUES.values()), dtype=torch.float64).unsqueeze(1)
        self.embedding = nn.Embedding.from_pretrained(table, freeze=True)
        self.head = head

    def embed(self, input_ids):
        return self.embedding(input_ids)

    def represent(self, masked, attention_mask):
        return (masked * attention_mask.unsqueeze(-1)).sum(1)


def sigmoid_head() -> nn.Module:
    """Logits (-s/2, s/2): p(positive) = sigmoid(s)."""
    head = nn.Linear(1, 2).double()
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[-0.5], [0.5]]))
        head.bias.zero_()
    return head


def loaded(head: nn.Module, name: str) -> LoadedModel:
    config = {"label_names": ["negative", "positive"], "architecture": "cnn", "method": "base",
              "mask_config": {"kind": "none"}, "model_config": {"vocab": list(VALUES), "max_len": 10}}
    return LoadedModel(name, SumModel(head).eval(), WordTokenizer(Vocab(list(VALUES)), max_len=10), config)


@pytest.fixture(scope="module")
def linear():
    return loaded(LinearHead(), "linear")


@pytest.fixture(scope="module")
def sigmoid():
    return loaded(sigmoid_head(), "sigmoid")


def hand_ridge(z: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> np.ndarray:
    """argmin_b sum_i w_i (y_i - c - z_i b)^2 + alpha |b|^2 (free intercept c): weighted-centred normal equations."""
    zc = z - (w @ z) / w.sum()
    yc = y - (w @ y) / w.sum()
    return np.linalg.solve(zc.T @ (w[:, None] * zc) + alpha * np.eye(z.shape[1]), zc.T @ (w * yc))


def test_an_unpenalised_surrogate_recovers_the_effects_of_a_linear_model(linear):
    e = LimeExplainer(linear, n_samples=200, ridge_alpha=1e-9).explain(LONG)
    assert e.target == 1
    assert e.scores == pytest.approx([VALUES[w] for w in LONG.split()], abs=1e-6)
    shrunk = LimeExplainer(linear, n_samples=200).explain(LONG)       # ridge alpha 1 shrinks, keeps the order
    assert np.argsort(shrunk.scores).tolist() == np.argsort(e.scores).tolist()
    assert all(abs(s) < abs(t) for s, t in zip(shrunk.scores, e.scores))


def test_three_words_follow_limes_equations_by_hand(sigmoid):
    n_samples, seed = 40, 5
    e = LimeExplainer(sigmoid, n_samples=n_samples, seed=seed).explain(TEXT)
    z = lime_samples(n_samples, 3, seed).double().numpy()
    assert z[0].tolist() == [1, 1, 1]                                # the explained text is sample 0, as in lime
    y = np.array([1 / (1 + math.exp(-sum(VALUES[w] * k for w, k in zip(TEXT.split(), row)))) for row in z])
    distance = 1 - np.sqrt(z.sum(1) / 3)
    weights = np.exp(-distance ** 2 / (2 * 0.25 ** 2))
    assert e.scores == pytest.approx(hand_ridge(z, y, weights, 1.0).tolist(), abs=1e-9)


def test_scores_equal_captums_lime_fed_the_same_samples(sigmoid):
    from captum._utils.models.linear_model import SkLearnRidge
    from captum.attr import Lime

    n_samples, seed = 60, 2
    e = LimeExplainer(sigmoid, n_samples=n_samples, seed=seed).explain(LONG)
    features = encode_features(sigmoid, LONG)
    keep = lime_samples(n_samples, features.n_words, seed)

    def same_samples(inputs, **kwargs):
        yield from (row.unsqueeze(0) for row in keep)

    def forward(k):
        return torch.softmax(features.keep_logits(k), -1)[:, e.target]

    lime = Lime(forward, interpretable_model=SkLearnRidge(alpha=1.0), similarity_func=lime_text_kernel(0.25),
                perturb_func=same_samples)
    with torch.no_grad():
        theirs = lime.attribute(torch.ones(1, features.n_words), baselines=0.0, n_samples=n_samples,
                                feature_mask=torch.arange(features.n_words).unsqueeze(0), perturbations_per_eval=16)
    assert e.scores == pytest.approx(theirs[0].double().tolist(), abs=1e-6)


def test_the_vectorised_kernel_is_limes_text_kernel():
    keep = lime_samples(30, 7, 0)
    one_by_one = [lime_text_kernel(0.25)(None, None, row) for row in keep]
    assert lime_kernel_weights(keep, 0.25) == pytest.approx(one_by_one, abs=1e-12)
    assert lime_kernel_weights(torch.ones(1, 4), 0.25)[0] == 1.0


def test_the_surrogate_is_scikit_learns_weighted_ridge():
    rng = np.random.default_rng(0)
    z = (rng.random((50, 4)) < 0.5).astype(np.float64)
    y, w = rng.random(50), rng.random(50)
    assert fit_lime_surrogate(torch.tensor(z), y, w, 0.7) == pytest.approx(hand_ridge(z, y, w, 0.7), abs=1e-10)


def test_samples_are_seeded_without_touching_the_callers_random_state(sigmoid):
    torch.manual_seed(11)
    np.random.seed(11)
    before = torch.get_rng_state(), np.random.get_state()[1].copy()
    first = LimeExplainer(sigmoid, n_samples=50, seed=3).explain(LONG)
    assert torch.equal(before[0], torch.get_rng_state()) and np.array_equal(before[1], np.random.get_state()[1])
    assert first.scores == LimeExplainer(sigmoid, n_samples=50, seed=3).explain(LONG).scores and first.seed == 3
    assert first.scores != LimeExplainer(sigmoid, n_samples=50, seed=4).explain(LONG).scores
    assert torch.equal(lime_samples(50, 7, 3), lime_samples(50, 7, 3))
    rows = lime_samples(2001, 7, 0)[1:]
    assert set(rows.unique().tolist()) == {0.0, 1.0} and rows.mean().item() == pytest.approx(0.5, abs=0.02)
    assert first.params == {"n_samples": 50, "baseline": "zero", "unit": "probability", "kernel_width": 0.25,
                            "surrogate": "ridge", "ridge_alpha": 1.0}


def test_one_batched_forward_over_the_distinct_samples(sigmoid, monkeypatch):
    from core.explain import features as features_module

    calls = []
    inner = features_module.WordFeatures.keep_logits

    def counted(self, keep, baseline="zero"):
        calls.append(keep.shape[0])
        return inner(self, keep, baseline)

    monkeypatch.setattr(features_module.WordFeatures, "keep_logits", counted)
    LimeExplainer(sigmoid, n_samples=300, batch_size=512).explain(LONG)       # 7 words: 2^7 = 128 keep vectors
    assert len(calls) == 1 and calls[0] <= 128
    calls.clear()
    LimeExplainer(sigmoid, n_samples=300, batch_size=50).explain(LONG)
    assert all(c <= 50 for c in calls) and len(calls) == math.ceil(sum(calls) / 50)
    features = encode_features(sigmoid, LONG)
    keep = lime_samples(300, 7, 0)
    distinct, evaluations = features.distinct_target_probs(keep, 1, 64)
    assert evaluations == len(torch.unique(keep, dim=0)) < 300
    assert distinct.tolist() == pytest.approx(features.target_probs(keep, 1, 64).tolist(), abs=1e-12)


def test_lime_does_not_loop_in_captum(sigmoid, monkeypatch):
    import captum.attr

    def refuse(*args, **kwargs):
        raise AssertionError("captum's Lime was called")

    monkeypatch.setattr(captum.attr, "Lime", refuse)
    assert len(LimeExplainer(sigmoid, n_samples=20).explain(TEXT).scores) == 3


def test_too_few_samples_are_still_refused(sigmoid):
    with pytest.raises(ExplainError, match="lime: n_samples=9 is too few; LIME needs at least 10"):
        LimeExplainer(sigmoid, n_samples=9)
    with pytest.raises(ExplainError, match=r"n_samples=10 is too few for 10 words; .* at least 11"):
        LimeExplainer(sigmoid, n_samples=10).explain(LONG + " the good movie")
    with pytest.raises(ExplainError, match="lime: n_samples must be a positive integer"):
        LimeExplainer(sigmoid, n_samples=2.5)
