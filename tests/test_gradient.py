"""Gradient explainers: values by hand on the sum classifier, IG's completeness, embedding-level equalities, errors.

On the hand model s = sum of e(w) over the words, p = p(positive) = sigmoid(s), so with every
word's embedding scaled by k_w: dp/dk_w = p(1-p) e(w) (gradient x input), dp/de_w = p(1-p)
(the 1-d embedding's gradient, its norm the saliency), and integrated gradients from zero
embeddings give e(w) / s * (sigmoid(s) - 1/2) to each word (the path is p(sigmoid(a s)), a in [0, 1]).
"""

import pytest
import torch

from core.explain import ExplainError, get_explainer
from core.explain.features import encode_features
from core.explain.gradient import GradInput, IntegratedGradients, Saliency
from tests.test_explain import S, TEXT, VALUES, sig
from tests.test_explain import SUB_TEXT, TableLikelihood, hand, tiny_bert  # noqa: F401  fixtures

WORDS = TEXT.split()
P = sig(S)


def test_grad_input_is_the_hand_derivative(hand):  # noqa: F811
    e = GradInput(hand).explain(TEXT, target=1)
    assert e.scores == pytest.approx([VALUES[w] * P * (1 - P) for w in WORDS], abs=1e-6)
    assert e.signed and e.params["unit"] == "probability" and e.details == {}
    negative = GradInput(hand).explain(TEXT, target=0)
    assert negative.scores == pytest.approx([-VALUES[w] * P * (1 - P) for w in WORDS], abs=1e-6)


def test_saliency_is_the_hand_gradient_norm(hand):  # noqa: F811
    e = Saliency(hand).explain(TEXT, target=1)
    assert e.scores == pytest.approx([P * (1 - P)] * len(WORDS), abs=1e-9)
    assert not e.signed and e.params["unit"] == "gradient norm"


def test_integrated_gradients_closed_form_and_completeness_on_the_hand_model(hand):  # noqa: F811
    e = IntegratedGradients(hand, n_steps=50).explain(TEXT, target=1)
    assert e.scores == pytest.approx([VALUES[w] / S * (P - 0.5) for w in WORDS], abs=1e-6)
    assert sum(e.scores) == pytest.approx(P - 0.5, abs=1e-3)   # f(x) - f(zero embeddings)
    assert abs(e.details["convergence_delta"]) < 1e-3 and e.details["n_steps"] == 50
    assert e.params["n_steps"] == 50 and e.params["baseline"] == "zero"


def zero_word_prob(model, text, target):
    """p(target) with the embeddings of every word piece (not the special tokens) set to zero."""
    batch = model.encode([text])
    with torch.no_grad():
        emb = model.model.embed(batch.input_ids)
        emb[batch.word_ids >= 0] = 0
        out = model.model.forward_embeddings(emb, batch.attention_mask, batch.token_mask)
    return float(torch.softmax(out.logits[0], -1)[target])


@pytest.mark.parametrize("target", [0, 1])
def test_integrated_gradients_completeness_on_a_wordpiece_model(tiny_bert, target):  # noqa: F811
    e = IntegratedGradients(tiny_bert, n_steps=32, batch_size=7).explain(SUB_TEXT, target=target)
    p_full, p_zero = e.probs[target], zero_word_prob(tiny_bert, SUB_TEXT, target)
    assert abs(p_full - p_zero) > 1e-3                       # the check is not vacuous
    delta = e.details["convergence_delta"]
    assert abs(sum(e.scores) - (p_full - p_zero)) <= abs(delta) + 1e-4
    assert sum(e.scores) - (p_full - p_zero) == pytest.approx(delta, abs=1e-5)
    assert len(e.scores) == 4


def embedding_gradient(model, text, target):
    """(embeddings [T, d], d p(target) / d embeddings [T, d], word ids [T]) by plain autograd."""
    batch = model.encode([text])
    emb = model.model.embed(batch.input_ids).detach().requires_grad_()
    out = model.model.forward_embeddings(emb, batch.attention_mask, batch.token_mask)
    torch.softmax(out.logits[0], -1)[target].backward()
    return emb[0].detach(), emb.grad[0], batch.word_ids[0]


def test_grad_input_and_saliency_equal_the_embedding_level_gradient_per_word(tiny_bert):  # noqa: F811
    target = 1
    emb, grad, word_ids = embedding_gradient(tiny_bert, SUB_TEXT, target)
    n = int(word_ids.max()) + 1
    per_word_gxi = [float((grad[word_ids == i] * emb[word_ids == i]).sum()) for i in range(n)]
    per_word_norm = [float(grad[word_ids == i].norm()) for i in range(n)]
    assert GradInput(tiny_bert).explain(SUB_TEXT, target=target).scores == pytest.approx(per_word_gxi, abs=1e-6)
    assert Saliency(tiny_bert).explain(SUB_TEXT, target=target).scores == pytest.approx(per_word_norm, abs=1e-6)
    first_piece = float(grad[word_ids == 1][0].norm())
    assert abs(per_word_norm[1] - first_piece) > 1e-6       # "unbelievably" is five pieces, all counted


def test_pair_saliency_equals_autograd_through_compare():
    from core.models import load_model

    model = load_model("dattn-trec6-answer-type-pairs", device="cpu")
    text_a, text_b = "who wrote hamlet ?", "who painted the mona lisa ?"
    e = Saliency(model).explain(text_a, text_b)
    a, b = encode_features(model, text_a, text_b).batches
    emb_a = model.model.embed(a.input_ids).detach().requires_grad_()
    emb_b = model.model.embed(b.input_ids).detach().requires_grad_()
    logits = model.model.compare(emb_a, a.attention_mask.bool(), emb_b, b.attention_mask.bool())
    torch.softmax(logits.float(), -1)[0, e.target].backward()
    expected = [float(emb_a.grad[0, a.word_ids[0] == i].norm()) for i in range(len(a.words[0]))]
    expected += [float(emb_b.grad[0, b.word_ids[0] == i].norm()) for i in range(len(b.words[0]))]
    assert e.scores == pytest.approx(expected, abs=1e-7)
    ig = IntegratedGradients(model, n_steps=64).explain(text_a, text_b)
    with torch.no_grad():
        p_zero = float(torch.softmax(model.model.compare(emb_a * 0, a.attention_mask.bool(), emb_b * 0,
                                                         b.attention_mask.bool()).float(), -1)[0, ig.target])
    assert abs(sum(ig.scores) - (ig.probs[ig.target] - p_zero)) <= abs(ig.details["convergence_delta"]) + 1e-4


@pytest.mark.parametrize("n_steps", [0, -3, 2.5, "50", True])
def test_integrated_gradients_refuses_a_bad_n_steps(hand, n_steps):  # noqa: F811
    with pytest.raises(ExplainError, match="n_steps must be a positive integer"):
        IntegratedGradients(hand, n_steps=n_steps)
    with pytest.raises(ExplainError, match="n_steps must be a positive integer"):
        get_explainer("integrated_gradients", hand, n_steps=n_steps)


def test_integrated_gradients_takes_the_zero_baseline_only(hand):  # noqa: F811
    with pytest.raises(ExplainError, match="baseline must be 'zero'"):
        IntegratedGradients(hand, baseline="unk")


def test_expected_passes(hand):  # noqa: F811
    features = encode_features(hand, TEXT)
    assert IntegratedGradients(hand, n_steps=20).expected_passes(features) == 22
    assert GradInput(hand).expected_passes(features) == Saliency(hand).expected_passes(features) == 1


def test_gradients_run_under_the_no_grad_of_explain_and_leave_grad_mode_alone(hand):  # noqa: F811
    with torch.no_grad():
        assert GradInput(hand).explain(TEXT).scores
    assert torch.is_grad_enabled()
    assert all(p.grad is None for p in hand.model.parameters())


def test_a_hugging_face_pair_model_gets_grad_input_and_integrated_gradients_not_saliency(tmp_path):
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from core.data import pretrained
    from core.explain.registry import explain_pair
    from core.models import load_model

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, num_labels=2)
    BertForSequenceClassification(config).save_pretrained(tmp_path / "hf")
    AutoTokenizer.from_pretrained(str(pretrained.minilm_dir()), local_files_only=True).save_pretrained(tmp_path / "hf")
    model = load_model(f"hf-pair:{tmp_path / 'hf'}", device="cpu")
    text_a, text_b = "a man plays a guitar", "a man plays the banjo"
    run = explain_pair(model, text_a, text_b, methods=["grad_input", "integrated_gradients", "saliency"])
    assert "saliency" in run.skipped and "forward_pair" in run.skipped["saliency"]
    ig = run.get("integrated_gradients")
    features = encode_features(model, text_a, text_b)
    with torch.no_grad():
        p_zero = float(features.target_probs(torch.zeros(1, features.n_words), ig.target, 1)[0])
    assert len(ig.scores) == len(run.get("grad_input").scores) == 10
    assert abs(sum(ig.scores) - (ig.probs[ig.target] - p_zero)) <= abs(ig.details["convergence_delta"]) + 1e-4
