"""Explainers: exact values on a hand-built classifier, equality with reference implementations, subwords, errors.

The hand model gives every word a number e(w); the sentence score is
s = sum of e over its words and p(positive | x) = sigmoid(s), so
log2 odds(positive | x) = s / ln 2 and every score below is computable by hand.
"""

import math
import sys

import numpy as np
import pytest
import torch
from torch import nn

from core.data.tokenizers import Vocab, WordTokenizer
from core.explain import EXPLAINERS, ExplainError, explain, get_explainer
from core.explain.erasure import UnkErasure, ZeroErasure
from core.explain.marginal import InputMarginalization, marginalize_reference
from core.explain.mask import VMaskExplainer
from core.explain.perturbation import MIN_LIME_SAMPLES, LimeExplainer, ShapleyExplainer, check_lime_samples
from core.lm.base import LikelihoodModel
from core.models.base import MaskedTextClassifier
from core.models.factory import LoadedModel

VALUES = {"<pad>": 0.0, "<unk>": 0.5, "good": 1.0, "bad": -1.5, "movie": 0.25, "the": -0.125, "great": 2.0,
          "dull": -0.75}
TEXT = "the good movie"                       # s = -0.125 + 1 + 0.25
S = -0.125 + 1.0 + 0.25
LN2 = math.log(2)
TOY_TEXT = "the movie was great but the plot was boring"


def sig(z):
    return 1.0 / (1.0 + math.exp(-z))


def lo(p):
    return math.log2(p / (1.0 - p))


class SumClassifier(MaskedTextClassifier):
    """e(w) as a 1-d embedding; represent = sum over real positions; logits = (-s/2, s/2)."""

    architecture = "cnn"

    def __init__(self):
        super().__init__()
        table = torch.tensor(list(VALUES.values()), dtype=torch.float64).unsqueeze(1)
        self.embedding = nn.Embedding.from_pretrained(table, freeze=True)
        self.head = nn.Linear(1, 2).double()
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-0.5], [0.5]]))
            self.head.bias.zero_()

    def embed(self, input_ids):
        return self.embedding(input_ids)

    def represent(self, masked, attention_mask):
        return (masked * attention_mask.unsqueeze(-1)).sum(1)


class TableLikelihood(LikelihoodModel):
    """Fixed rows: ``rows[i]`` is p(. | x_-i) for position i (one row repeated when given one)."""

    name = "table"

    def __init__(self, vocabulary, rows):
        self.vocabulary = list(vocabulary)
        self.rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))

    def distribution(self, words, positions):
        return np.stack([self.rows[min(p, len(self.rows) - 1)] for p in positions])


@pytest.fixture(scope="module")
def hand():
    config = {"label_names": ["negative", "positive"], "architecture": "cnn", "method": "base",
              "mask_config": {"kind": "none"}, "model_config": {"vocab": list(VALUES), "max_len": 10}}
    return LoadedModel("hand", SumClassifier().eval(), WordTokenizer(Vocab(list(VALUES)), max_len=10), config)


@pytest.fixture(scope="module")
def toy():
    torch.manual_seed(0)
    from core.training import TrainSettings, train
    from tests.toy import toy_dataset

    return train(TrainSettings(architecture="cnn", method="vmask", epochs=2), data=toy_dataset(), save=False,
                 progress=False).model


@pytest.fixture(scope="module")
def tiny_bert():
    from core.models.factory import build_classifier, bundle
    from tests.test_models import TINY_BERT

    mask = {"kind": "vmask", "hidden_dim": 8}
    torch.manual_seed(0)
    model = build_classifier("minilm", TINY_BERT, mask, num_classes=2).eval()
    config = {"label_names": ["negative", "positive"], "architecture": "minilm", "method": "vmask",
              "mask_config": mask, "model_config": TINY_BERT}
    return bundle(model, config, name="tiny-bert")


# ---------------------------------------------------------------- erasure


def test_zero_erasure_is_the_hand_weight_of_evidence(hand):
    e = ZeroErasure(hand).explain(TEXT)
    assert e.words == ["the", "good", "movie"] and e.predicted == 1 and e.target == 1
    assert e.probs[1] == pytest.approx(sig(S), abs=1e-12)
    # x_-i has sum S - e_i, so WoE_i = S/ln2 - (S - e_i)/ln2 = e_i / ln2
    assert e.scores == pytest.approx([-0.125 / LN2, 1.0 / LN2, 0.25 / LN2], abs=1e-6)
    assert e.params == {"measure": "woe", "unit": "log2 odds"} and e.seed is None
    negative = ZeroErasure(hand).explain(TEXT, target=0)
    assert negative.scores == pytest.approx([0.125 / LN2, -1.0 / LN2, -0.25 / LN2], abs=1e-6)


def test_zero_erasure_probability_measure(hand):
    e = ZeroErasure(hand, measure="probability").explain(TEXT)
    assert e.params["unit"] == "probability"
    assert e.scores == pytest.approx([sig(S) - sig(S - v) for v in (-0.125, 1.0, 0.25)], abs=1e-9)


def test_unk_erasure_replaces_the_word_by_unk(hand):
    e = UnkErasure(hand).explain(TEXT)
    assert e.scores == pytest.approx([(v - VALUES["<unk>"]) / LN2 for v in (-0.125, 1.0, 0.25)], abs=1e-6)


def test_zero_erasure_equals_captum_feature_ablation(toy):
    from captum.attr import FeatureAblation

    batch = toy.encode([TOY_TEXT])
    assert bool((batch.word_ids >= 0).all())  # no padding: every position is a word
    e = ZeroErasure(toy, measure="probability").explain(TOY_TEXT)
    with torch.no_grad():
        def forward(emb):
            n = emb.shape[0]
            out = toy.model.forward_embeddings(emb, batch.attention_mask.expand(n, -1), batch.token_mask.expand(n, -1))
            return torch.softmax(out.logits, -1)[:, e.target]

        attr = FeatureAblation(forward).attribute(toy.model.embed(batch.input_ids), baselines=0.0,
                                                  feature_mask=batch.word_ids.unsqueeze(-1))
    assert e.scores == pytest.approx(attr[0, :, 0].tolist(), abs=1e-6)


# ---------------------------------------------------------------- marginalization

LM_WORDS = ["good", "bad", "great", "movie", "zzz"]   # zzz is outside the hand vocabulary


def marginal_score(rest, weights):
    """Hand eq. 4 + eq. 1: rest = sum of the other words' values; weights = {candidate value: likelihood}."""
    p = sum(w * sig(rest + v) for v, w in weights) / sum(w for _, w in weights)
    return S / LN2 - lo(p)


def test_marginal_sigma_truncates_and_renormalises(hand):
    lm = TableLikelihood(LM_WORDS, [0.5, 0.3, 0.15, 0.04, 0.01])
    e = InputMarginalization(hand, lm, sigma=0.1, keep_candidates=2).explain(TEXT)
    rest = S - 1.0                                     # word 1 ("good") removed
    expected = marginal_score(rest, [(1.0, 0.5), (-1.5, 0.3), (2.0, 0.15)])  # movie (0.04), zzz below sigma
    assert e.scores[1] == pytest.approx(expected, abs=1e-6)
    assert e.details["n_candidates"] == [3, 3, 3]
    top = e.details["candidates"][1]
    assert [c["word"] for c in top] == ["good", "bad"]           # keep_candidates=2
    assert top[0]["likelihood"] == pytest.approx(0.5 / 0.95) and top[1]["likelihood"] == pytest.approx(0.3 / 0.95)
    assert top[1]["prob"] == pytest.approx(sig(rest - 1.5), abs=1e-9)
    assert e.params["sigma"] == 0.1 and e.params["unit"] == "log2 odds" and e.params["likelihood"] == "table"


def test_marginal_top_n(hand):
    lm = TableLikelihood(LM_WORDS, [0.5, 0.3, 0.15, 0.04, 0.01])
    e = InputMarginalization(hand, lm, top_n=2).explain(TEXT)
    assert e.scores[2] == pytest.approx(marginal_score(S - 0.25, [(1.0, 0.5), (-1.5, 0.3)]), abs=1e-6)
    assert e.details["n_candidates"] == [2, 2, 2]


def test_marginal_oov_drop_or_unk(hand):
    lm = TableLikelihood(LM_WORDS, [0.2, 0.1, 0.1, 0.2, 0.4])
    rest = S + 0.125                                    # word 0 ("the") removed
    in_vocab = [(1.0, 0.2), (-1.5, 0.1), (2.0, 0.1), (0.25, 0.2)]
    dropped = InputMarginalization(hand, lm, oov="drop").explain(TEXT)
    assert dropped.scores[0] == pytest.approx(marginal_score(rest, in_vocab), abs=1e-6)
    as_unk = InputMarginalization(hand, lm, oov="unk").explain(TEXT)
    assert as_unk.scores[0] == pytest.approx(marginal_score(rest, in_vocab + [(VALUES["<unk>"], 0.4)]), abs=1e-6)
    assert as_unk.details["candidates"][0][0]["word"] == "zzz"


def test_marginal_without_candidates_falls_back_to_zero_erasure(hand):
    lm = TableLikelihood(LM_WORDS, [[0.5, 0.5, 0, 0, 0], [0, 0, 0, 0, 1.0], [0.5, 0.5, 0, 0, 0]])
    e = InputMarginalization(hand, lm, oov="drop").explain(TEXT)
    assert e.details["fallback"] == [1] and e.details["n_candidates"] == [2, 0, 2]
    assert e.scores[1] == pytest.approx(1.0 / LN2, abs=1e-6)       # zero erasure of "good"


def test_uniform_likelihood_gives_the_plain_average(hand):
    known = ["good", "bad", "movie", "the", "great", "dull"]
    lm = TableLikelihood(known, np.full(len(known), 1 / len(known)))
    e = InputMarginalization(hand, lm).explain(TEXT)
    for i, value in enumerate([-0.125, 1.0, 0.25]):
        p = np.mean([sig(S - value + VALUES[w]) for w in known])
        assert e.scores[i] == pytest.approx(S / LN2 - lo(p), abs=1e-6)


@pytest.mark.parametrize("options", [{"sigma": 0.02, "oov": "drop"}, {"sigma": 0.0, "oov": "unk"},
                                     {"top_n": 3, "oov": "drop"}])
def test_batched_marginal_equals_reference_on_a_trained_cnn(toy, options):
    rng = np.random.default_rng(0)
    words = [w for w in toy.tokenizer.vocab.words[2:]] + ["zzz", "qqq"]
    lm = TableLikelihood(words, rng.dirichlet(np.full(len(words), 0.3), size=20))
    batch = toy.encode([TOY_TEXT])
    e = InputMarginalization(toy, lm, batch_size=5, **options).explain(TOY_TEXT)
    scores, details = marginalize_reference(toy, batch, e.target, lm, **options)
    assert e.scores == pytest.approx(scores, abs=1e-6)
    assert e.details["n_candidates"] == details["n_candidates"] and e.details["fallback"] == details["fallback"]
    for fast, slow in zip(e.details["candidates"], details["candidates"]):
        assert [c["word"] for c in fast] == [c["word"] for c in slow]
        assert [c["prob"] for c in fast] == pytest.approx([c["prob"] for c in slow], abs=1e-6)
        assert [c["likelihood"] for c in fast] == pytest.approx([c["likelihood"] for c in slow], abs=1e-12)


# ---------------------------------------------------------------- perturbation


def test_lime_and_shapley_are_reproducible_for_a_seed(toy):
    for cls, n in ((LimeExplainer, {"n_samples": 100}), (ShapleyExplainer, {"n_permutations": 4})):
        first = cls(toy, seed=3, **n).explain(TOY_TEXT)
        again = cls(toy, seed=3, **n).explain(TOY_TEXT)
        other = cls(toy, seed=4, **n).explain(TOY_TEXT)
        assert first.scores == again.scores and first.seed == 3 and first.params["unit"] == "probability"
        assert first.scores != other.scores
        assert len(first.scores) == len(first.words) == 9


def test_shapley_values_sum_to_the_all_words_off_difference(toy):
    e = ShapleyExplainer(toy, n_permutations=3, batch_size=4).explain(TOY_TEXT)
    batch = toy.encode([TOY_TEXT])
    with torch.no_grad():
        zero = torch.zeros_like(toy.model.embed(batch.input_ids))
        p_off = torch.softmax(toy.model.forward_embeddings(zero, batch.attention_mask, batch.token_mask).logits, -1)
    assert sum(e.scores) == pytest.approx(e.probs[e.target] - float(p_off[0, e.target]), abs=1e-5)


def test_lime_needs_more_samples_than_words_and_at_least_ten(toy):
    assert MIN_LIME_SAMPLES == 10
    with pytest.raises(ExplainError, match="lime: n_samples=1 is too few; LIME needs at least 10"):
        LimeExplainer(toy, n_samples=1)                          # one sample used to give all-zero scores
    with pytest.raises(ExplainError, match=r"n_samples=11 is too few for 11 words; .* at least 12"):
        check_lime_samples(11, 11)
    with pytest.raises(ExplainError, match=r"n_samples=12 is too few for 12 words; .* at least 13"):
        LimeExplainer(toy, n_samples=12).explain(TOY_TEXT + " and the end")   # checked per text
    e = LimeExplainer(toy, n_samples=10).explain(TOY_TEXT)     # 9 words: 10 is the least it takes
    assert len(e.scores) == 9 and any(s != 0 for s in e.scores)
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ExplainError, match="lime: n_samples must be a positive integer"):
            check_lime_samples(bad)


def test_shapley_takes_one_permutation_but_not_zero(toy):
    e = ShapleyExplainer(toy, n_permutations=1).explain(TOY_TEXT)   # noisy, but still sums exactly
    batch = toy.encode([TOY_TEXT])
    with torch.no_grad():
        zero = torch.zeros_like(toy.model.embed(batch.input_ids))
        p_off = torch.softmax(toy.model.forward_embeddings(zero, batch.attention_mask, batch.token_mask).logits, -1)
    assert sum(e.scores) == pytest.approx(e.probs[e.target] - float(p_off[0, e.target]), abs=1e-5)
    for kwargs in ({"n_permutations": 0}, {"n_samples": -1}, {"n_permutations": False}):
        with pytest.raises(ExplainError, match=r"shapley: n_permutations \(n_samples\) must be a positive integer"):
            ShapleyExplainer(toy, **kwargs)


# ---------------------------------------------------------------- subwords (wordpiece model)

SUB_TEXT = "an unbelievably good film"


def test_wordpiece_words_are_all_their_pieces(tiny_bert):
    tok = tiny_bert.tokenizer
    assert len(tok.hf.tokenize("unbelievably")) == 5
    batch = tiny_bert.encode([SUB_TEXT])
    pieces = list(range(2, 7))                      # [CLS] an un ##bel ##ie ##va ##bly good film [SEP]
    assert batch.word_ids[0, pieces].tolist() == [1] * 5
    model = tiny_bert.model

    def prob(result):
        return float(torch.softmax(result.logits[0], -1)[target])

    with torch.no_grad():
        out = model.classify(batch)
        target = int(out.logits[0].argmax())
        emb = model.embed(batch.input_ids)
        zeroed, one_piece, ids = emb.clone(), emb.clone(), batch.input_ids.clone()
        zeroed[0, pieces] = 0
        one_piece[0, pieces[0]] = 0
        ids[0, pieces] = tok.unk_id
        p_full = prob(out)
        p_zeroed = prob(model.forward_embeddings(zeroed, batch.attention_mask, batch.token_mask))
        p_one_piece = prob(model.forward_embeddings(one_piece, batch.attention_mask, batch.token_mask))
        p_unk = prob(model(ids, batch.attention_mask, batch.token_mask))

    vm = VMaskExplainer(tiny_bert).explain(SUB_TEXT)
    assert vm.scores[1] == pytest.approx(float(out.mask.importance[0, pieces].mean()), abs=1e-6)
    assert vm.params["unit"] == "keep probability"
    zero = ZeroErasure(tiny_bert).explain(SUB_TEXT, target=target)
    assert zero.scores[1] == pytest.approx(lo(p_full) - lo(p_zeroed), abs=1e-5)
    assert abs(zero.scores[1] - (lo(p_full) - lo(p_one_piece))) > 1e-4     # not just the first piece
    unk = UnkErasure(tiny_bert).explain(SUB_TEXT, target=target)
    assert unk.scores[1] == pytest.approx(lo(p_full) - lo(p_unk), abs=1e-5)


def test_wordpiece_marginal_equals_reference(tiny_bert):
    lm = TableLikelihood(["good", "bad", "masklens", "superb", "unbelievably"], [0.3, 0.2, 0.25, 0.15, 0.1])
    batch = tiny_bert.encode([SUB_TEXT])
    e = InputMarginalization(tiny_bert, lm, batch_size=3).explain(SUB_TEXT)
    scores, details = marginalize_reference(tiny_bert, batch, e.target, lm)
    assert e.scores == pytest.approx(scores, abs=1e-5) and e.details["n_candidates"] == [5, 5, 5, 5]
    assert e.details["truncated_variants"] == 0


def test_wordpiece_marginal_counts_variants_cut_at_max_len(tiny_bert):
    text = "good " + "film " * 29                   # 30 one-piece words: exactly max_len 32 with [CLS], [SEP]
    lm = TableLikelihood(["bad", "masklens"], [0.5, 0.5])          # masklens has 3 pieces
    e = InputMarginalization(tiny_bert, lm, batch_size=16).explain(text)
    assert not e.truncated and e.details["truncated_variants"] == 30
    scores, _ = marginalize_reference(tiny_bert, tiny_bert.encode([text]), e.target, lm)
    assert e.scores == pytest.approx(scores, abs=1e-5)


def test_shapley_never_perturbs_special_tokens(tiny_bert):
    e = ShapleyExplainer(tiny_bert, n_permutations=2).explain(SUB_TEXT)
    batch = tiny_bert.encode([SUB_TEXT])
    with torch.no_grad():
        emb = tiny_bert.model.embed(batch.input_ids)
        emb[batch.token_mask] = 0                       # every word piece off, [CLS]/[SEP] kept
        p_off = torch.softmax(tiny_bert.model.forward_embeddings(emb, batch.attention_mask, batch.token_mask)
                              .logits, -1)[0, e.target]
    assert sum(e.scores) == pytest.approx(e.probs[e.target] - float(p_off), abs=1e-5)


# ---------------------------------------------------------------- registry and errors


@pytest.mark.parametrize("text, message", [("", "empty"), ("   ", "empty"), ("... ;;; -- @#", "no words"),
                                           ("!! , ?", "only punctuation"), ("qqzx wwzq", "None of the words")])
def test_text_without_explainable_words_is_an_explain_error(hand, text, message):
    with pytest.raises(ExplainError, match=message):
        ZeroErasure(hand).explain(text)


@pytest.mark.parametrize("target", [2, -1, "positive"])
def test_target_out_of_range_is_an_explain_error(hand, target):
    with pytest.raises(ExplainError, match="target must be a class index"):
        ZeroErasure(hand).explain(TEXT, target=target)


def test_vmask_on_a_base_model_is_an_explain_error(hand):
    with pytest.raises(ExplainError, match="mask-trained model"):
        get_explainer("vmask", hand)


def test_unknown_explainer_lists_the_names(hand):
    with pytest.raises(ExplainError) as info:
        get_explainer("gradient", hand)
    assert all(name in str(info.value) for name in EXPLAINERS)


def test_explain_runs_the_applicable_methods_and_skips_the_rest(hand):
    lm = TableLikelihood(LM_WORDS, [0.5, 0.3, 0.15, 0.04, 0.01])
    run = explain(hand, TEXT, likelihood=lm, sigma=0.1, seed=1)
    assert [e.method for e in run] == ["zero", "marginal"] and "vmask" in run.skipped
    assert "without one" in run.skipped["vmask"]
    assert run.get("marginal").params["sigma"] == 0.1
    assert get_explainer("shapley", hand, n_samples=7).params["n_permutations"] == 7   # LIME's name works too
    assert get_explainer("shapley", hand, n_samples=7, n_permutations=3).params["n_samples"] == 3
    assert run.get("zero").scores == pytest.approx([-0.125 / LN2, 1.0 / LN2, 0.25 / LN2], abs=1e-6)
    assert [e.method for e in explain(hand, TEXT, methods=["zero"], sigma=0.1)] == ["zero"]  # not for zero
    with pytest.raises(ExplainError, match="no explainer takes sigmaa"):
        explain(hand, TEXT, methods=["zero"], sigmaa=0.1)
    with pytest.raises(ExplainError, match="does not take sigma"):
        get_explainer("zero", hand, sigma=0.1)
    with pytest.raises(ExplainError, match="unknown explainer"):
        explain(hand, TEXT, methods=["zero", "nope"])
    with pytest.raises(ExplainError, match="no method given; choose from zero, unk, marginal"):
        explain(hand, TEXT, methods=[])                          # used to return an empty run


def test_marginal_without_a_likelihood_model_says_so(hand, monkeypatch):
    with pytest.raises(ExplainError, match="likelihood model"):
        get_explainer("marginal", hand)
    monkeypatch.setitem(sys.modules, "core.lm.mlm", None)     # as if core/lm/mlm.py did not exist
    with pytest.raises(ExplainError, match="likelihood model"):
        explain(hand, TEXT, methods=["marginal"])
