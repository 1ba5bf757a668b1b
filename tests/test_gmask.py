"""GMASK / IMASK: eq. 8 by hand, the Z regulariser on a toy run, and the decisive words of a hand-built pair model."""

import math

import numpy as np
import pytest
import torch

from core.explain.base import ExplainError
from core.explain.gmask import (GMaskExplainer, IMaskExplainer, entropy, fit_group_masks, gmask_loss,
                                select_top_words, weighted_attributions, z_entropy)
from core.explain.erasure import ZeroErasure as PairZeroErasure
from core.explain.perturbation import LimeExplainer as PairLime, ShapleyExplainer as PairShapley
from core.explain.registry import explain_pair
from core.data.tokenizers import Vocab, WordTokenizer
from core.metrics.faithfulness import ZeroedItem, ZeroedWord, aopc, degradation, perturb
from core.metrics.pairs import metric_operation, pair_examples, pair_scorer, split_tagged, untag
from core.models.pair import LoadedPairModel, PairClassifier
from tests.pair_toy import TEXT_A, TEXT_B, WORDS, toy_pair_model

FAST = {"steps": 60, "n_samples": 48}


@pytest.fixture(scope="module")
def toy():
    return toy_pair_model()


def test_weighted_attribution_equals_the_hand_computation():
    phi = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])
    psi = torch.tensor([0.7, 0.3])
    # theta_j = sum_i phi_j(i) psi(i)
    expected = [0.5 * 0.7 + 0.5 * 0.3, 0.9 * 0.7 + 0.1 * 0.3, 0.2 * 0.7 + 0.8 * 0.3]
    assert weighted_attributions(phi, psi).tolist() == pytest.approx(expected)


def test_z_entropy_and_loss_by_hand():
    phi = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    sides = torch.tensor([0, 0, 1, 1])
    # A's words: mean (0.5, 0.5) -> ln 2; B's words: (1, 0) -> 0
    assert float(z_entropy(phi, sides)) == pytest.approx(math.log(2))
    psi = torch.tensor([0.25, 0.75])
    h_g = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    loss = gmask_loss(torch.tensor(0.3), phi, psi, sides, gamma1=10, gamma2=1)
    assert float(loss) == pytest.approx(0.3 - 10 * math.log(2) + h_g, rel=1e-5)
    assert float(entropy(torch.tensor([0.5, 0.5]))) == pytest.approx(math.log(2))


def test_z_regulariser_spreads_each_sentences_words_across_groups(toy):
    a, b = toy.encode([TEXT_A], [TEXT_B])
    n_a, n = 6, 12
    sides = torch.tensor([0] * n_a + [1] * (n - n_a))
    start = torch.zeros(n, 3)
    start[:, 0] = 4.0  # every word starts almost surely in group 0: low H(Z_U) + H(Z_L)

    def logits(keep):
        return toy.word_keep_logits(a, b, keep)

    fit = fit_group_masks(logits, sides, 3, target=1, steps=40, n_samples=16, z_logits=start, seed=0)
    first, last = fit.history[0]["z_entropy"], fit.history[-1]["z_entropy"]
    assert last > first + 0.5, (first, last)
    assert last <= 2 * math.log(3) + 1e-6


def test_gmask_ranks_the_one_decisive_word_of_each_text_first(toy):
    explanation = GMaskExplainer(toy, seed=0, **FAST).explain(TEXT_A, TEXT_B)
    assert explanation.predicted == 1 and explanation.n_words_a == 6
    top_two = {explanation.words[i] for i in explanation.ranking()[:2]}
    assert top_two == {"cat", "dog"}
    assert not explanation.signed and all(0 <= s <= 1 for s in explanation.scores)
    top_group = explanation.groups[0]
    members = {m["word"]: m["prob"] for m in top_group["words"]}
    assert members["cat"] > 0.5 and members["dog"] > 0.5  # the two correlated words share the top group
    assert top_group["importance"] == max(g["importance"] for g in explanation.groups)
    assert explanation.details["n_groups"] == min(sum(1 for j in explanation.details["selected"] if j < 6),
                                                  sum(1 for j in explanation.details["selected"] if j >= 6))


def test_gmask_is_seeded(toy):
    first = GMaskExplainer(toy, seed=3, steps=10, n_samples=8).explain(TEXT_A, TEXT_B)
    again = GMaskExplainer(toy, seed=3, steps=10, n_samples=8).explain(TEXT_A, TEXT_B)
    assert first.scores == again.scores and first.seed == 3
    other = GMaskExplainer(toy, seed=4, steps=10, n_samples=8).explain(TEXT_A, TEXT_B)
    assert other.scores != first.scores  # the seed drives the Gumbel samples


def test_gmask_and_imask_on_one_pair_fit_imask_once(toy, monkeypatch):
    from core.explain import gmask as gmask_module
    from core.explain.registry import explain_pair

    calls = []
    real_fit = gmask_module.fit_word_masks
    monkeypatch.setattr(gmask_module, "fit_word_masks", lambda *args, **kw: calls.append(1) or real_fit(*args, **kw))
    run = explain_pair(toy, TEXT_A, TEXT_B, methods=["gmask", "imask"], steps=10, n_samples=8, seed=5)
    assert len(calls) == 1
    assert run.get("imask").scores == pytest.approx(run.get("gmask").details["imask_keep"])
    fresh = IMaskExplainer(toy, seed=5, steps=10, n_samples=8)
    toy.__dict__.pop("_imask_memo")
    assert fresh.explain(TEXT_A, TEXT_B).scores == run.get("imask").scores  # the memo gives what a fit gives
    explain_pair(toy, TEXT_A, TEXT_B, methods=["imask"], steps=10, n_samples=8, seed=6)
    assert len(calls) == 3  # another seed is another fit


def test_imask_ranks_the_decisive_words_first(toy):
    explanation = IMaskExplainer(toy, seed=0, **FAST).explain(TEXT_A, TEXT_B)
    assert {explanation.words[i] for i in explanation.ranking()[:2]} == {"cat", "dog"}


def test_top_word_selection_takes_one_word_from_each_text():
    keep = torch.tensor([0.9, 0.8, 0.7, 0.1, 0.2])  # A = first 3 words, B = last 2
    assert select_top_words(keep, 3, 2) == [0, 4]
    assert select_top_words(keep, 3, 4) == [0, 1, 2, 4]


def test_zero_erasure_on_pairs_by_hand(toy):
    explanation = PairZeroErasure(toy).explain(TEXT_A, TEXT_B)
    woe = 12 / math.log(2)  # log2 odds(sigmoid(6)) - log2 odds(sigmoid(-6))
    expected = [woe if w in ("cat", "dog") else 0.0 for w in explanation.words]
    assert explanation.scores == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("cls", [PairLime, PairShapley])
def test_lime_and_shapley_rank_the_decisive_words_first(toy, cls):
    explanation = cls(toy, n_samples=60 if cls is PairLime else 5).explain(TEXT_A, TEXT_B)
    assert {explanation.words[i] for i in explanation.ranking()[:2]} == {"cat", "dog"}


def test_pair_inputs_are_checked(toy):
    with pytest.raises(ExplainError, match="second text is empty"):
        PairZeroErasure(toy).explain(TEXT_A, "  ")
    with pytest.raises(ExplainError, match="first text has no words"):
        PairZeroErasure(toy).explain("?!", TEXT_B)
    with pytest.raises(ExplainError, match="vocabulary"):
        PairZeroErasure(toy).explain("zzqx qqxz", TEXT_B)
    run = explain_pair(toy, TEXT_A, TEXT_A, methods=["zero"])
    assert run.explanations[0].n_words_a == 6


def test_pair_and_single_text_explainers_reject_each_other(toy):
    from core.explain import explain
    from tests.test_explain import SumClassifier, VALUES
    from core.data.tokenizers import Vocab, WordTokenizer
    from core.models.factory import LoadedModel

    with pytest.raises(ExplainError, match="sentence-pair model"):
        explain(toy, TEXT_A, methods=["zero"])
    single = LoadedModel("hand", SumClassifier().eval(), WordTokenizer(Vocab(list(VALUES)), max_len=10),
                         {"label_names": ["n", "p"], "architecture": "cnn", "mask_config": {"kind": "none"}})
    with pytest.raises(ExplainError, match="reads one text"):
        explain_pair(single, "good", "bad", methods=["gmask"])


def test_pair_metrics_delete_words_from_either_text(toy):
    from core.metrics.faithfulness import aopc, degradation
    from core.metrics.pairs import pair_examples, pair_scorer

    explanation = PairZeroErasure(toy).explain(TEXT_A, TEXT_B)
    examples = pair_examples([explanation.to_dict()])
    assert [examples[0][0][i] for i in examples[0][1][:2]] == [("a", "cat"), ("b", "dog")]
    drop = 1 / (1 + math.exp(-6)) - 1 / (1 + math.exp(6))
    result = aopc(pair_scorer(toy), examples, k_max=2)
    assert result.per_k == pytest.approx([drop, drop]) and result.value == pytest.approx(2 * drop / 3)
    # MoRF drops to the floor as soon as cat goes; LeRF keeps p until cat or dog is among the removed words
    assert degradation(pair_scorer(toy), examples).score > 0.5


def test_core_evaluate_accepts_a_pair_model(masklens_home):
    from core.evaluation.runner import evaluate

    records = evaluate("dattn-trec6-answer-type-pairs", explainers=["gmask", "zero", "vmask"],
                       metrics=["aopc", "posthoc", "degradation", "auc_rep"], n=3, device="cpu", progress=False,
                       params={"gmask": {"steps": 10, "n_samples": 8}})
    by_name = {r["explainer"]: r for r in records}
    assert by_name["vmask"]["skipped"] and by_name["zero"]["n"] == 3
    assert set(by_name["gmask"]["metrics"]) == {"aopc", "posthoc", "degradation"}
    assert -1 <= by_name["zero"]["metrics"]["aopc"]["value"] <= 1
    again = evaluate("dattn-trec6-answer-type-pairs", explainers=["zero"], metrics=["aopc"], n=3, device="cpu",
                     progress=False)
    assert again[0]["explained"] == 0  # served from the store



def test_pair_evaluation_reports_progress_honours_aopc_k_and_rejects_other_deletions(masklens_home):
    from core.evaluation.runner import evaluate

    calls = []
    records = evaluate("dattn-trec6-answer-type-pairs", explainers=["zero", "vmask"], metrics=["aopc"], n=3,
                       device="cpu", progress=False, aopc_k=2, on_progress=lambda *call: calls.append(call))
    assert [c[0] for c in calls] == [0, 1, 2, 3, 3] and calls[-1] == (3, 3, "zero: aopc")
    assert records[0]["metrics"]["aopc"]["k_max"] == 2 and len(records[0]["metrics"]["aopc"]["per_k"]) == 2
    with pytest.raises(ValueError, match="'remove' or 'pad' only, not 'unk'"):
        evaluate("dattn-trec6-answer-type-pairs", explainers=["zero"], metrics=["aopc"], n=3, operation="unk")
    again = evaluate("dattn-trec6-answer-type-pairs", explainers=["zero"], metrics=["aopc"], n=3, device="cpu",
                     progress=False, aopc_k=np.int64(2))
    assert again[0]["metrics"]["aopc"]["value"] == records[0]["metrics"]["aopc"]["value"]  # same store entry
    with pytest.raises(ValueError, match="unknown explainer|gmaks"):
        evaluate("dattn-trec6-answer-type-pairs", explainers=["gmaks"], metrics=["aopc"], n=3)

def test_evaluate_arguments_accept_pair_explainer_names():
    from core.evaluation.runner import check_arguments

    assert check_arguments(["gmask", "imask", "zero"], ["aopc"], 3)[0] == ["gmask", "imask", "zero"]
    with pytest.raises(ValueError, match="unknown explainer"):
        check_arguments(["gmasq"], ["aopc"], 3)


class SumPairModel(PairClassifier):
    """l = (sum of the attended 1-d embeddings of A and B) - 1.5; "cat", "dog" embed as 1, "<pad>" as -1, others 0.

    The pad row differs from 0 (a removed word) and from any word, and batch padding is outside the
    attention mask, so the score tells removal, padding in place and padding masked out apart.
    """

    architecture = "sum-pair"

    def __init__(self):
        super().__init__()
        table = torch.tensor([[-1.0] if w == "<pad>" else [1.0] if w in ("cat", "dog") else [0.0] for w in WORDS])
        self.embedding = torch.nn.Embedding.from_pretrained(table, freeze=True)

    def embed(self, input_ids):
        return self.embedding(input_ids)

    def compare(self, emb_a, attn_a, emb_b, attn_b):
        logit = (emb_a[..., 0] * attn_a).sum(1) + (emb_b[..., 0] * attn_b).sum(1) - 1.5
        return torch.stack([-logit / 2, logit / 2], -1)


def _sum_pair():
    config = {"label_names": ["no", "yes"], "architecture": "sum-pair", "pair": True, "model_config": {}}
    return LoadedPairModel("sum-pair", SumPairModel().eval(), WordTokenizer(Vocab(WORDS), max_len=20), config)


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


# A = "the cat sat", B = "a dog"; ranking: cat, dog, a, the, sat
SUM_EXAMPLES = pair_examples([{"n_words_a": 3, "words": ["the", "cat", "sat", "a", "dog"],
                               "scores": [0.1, 0.9, 0.0, 0.2, 0.8]}])


def test_pad_deletion_scores_the_padded_text_by_hand():
    # full: s = 2, l = 0.5. pad cat: s = -1 + 1 = 0 (l = -1.5); pad cat and dog: s = -2 (l = -3.5)
    result = aopc(pair_scorer(_sum_pair(), operation="pad"), SUM_EXAMPLES, k_max=2, operation=metric_operation("pad"))
    assert result.per_k == pytest.approx([_sigmoid(0.5) - _sigmoid(-1.5), _sigmoid(0.5) - _sigmoid(-3.5)])
    # degradation, rho = 0, 0.5, 1 (3 of 5 words at 0.5): MoRF pads cat, dog, a (s = -3); LeRF pads sat, the, a
    # (s = -1); x_o pads all five (s = -5). score = trapezoid of LeRF - MoRF = 0.5 * (S_LeRF(0.5) - S_MoRF(0.5))
    degraded = degradation(pair_scorer(_sum_pair(), operation="pad"), SUM_EXAMPLES, fractions=[0, 0.5, 1],
                           operation=metric_operation("pad"))
    full, empty = _sigmoid(0.5), _sigmoid(-6.5)
    morf, lerf = (_sigmoid(-4.5) - empty) / (full - empty), (_sigmoid(-2.5) - empty) / (full - empty)
    assert degraded.morf.tolist() == pytest.approx([1, morf, 0]) and degraded.lerf.tolist() == pytest.approx([1, lerf, 0])
    assert degraded.score == pytest.approx(0.5 * (lerf - morf))


def test_remove_stays_the_default_pair_deletion():
    model = _sum_pair()
    # remove cat: s = 1 (l = -0.5); remove cat and dog: s = 0 (l = -1.5)
    result = aopc(pair_scorer(model), SUM_EXAMPLES, k_max=2)
    assert result.per_k == pytest.approx([_sigmoid(0.5) - _sigmoid(-0.5), _sigmoid(0.5) - _sigmoid(-1.5)])
    lists = [[("a", "the"), ("a", "sat"), ("b", "a"), ("b", "dog")], [["a", "cat"], ["b", "dog"]]]
    expected = model.predict_words([split_tagged([tuple(t) for t in tagged]) for tagged in lists])
    assert np.array_equal(pair_scorer(model)(lists), expected)
    assert np.array_equal(pair_scorer(model, operation="pad")(lists), expected)  # nothing padded: the same texts
    assert metric_operation("remove") == "remove"
    with pytest.raises(ValueError, match="operation='pad'"):
        pair_scorer(model)([[ZeroedItem(("a", "cat")), ("b", "dog")]])
    with pytest.raises(ValueError, match="'remove' or 'pad' only, not 'zero'"):
        pair_scorer(model, operation="zero")


def test_marked_items_keep_their_side_and_word():
    assert untag(("b", "dog")) == ("b", "dog", False)
    assert untag(["b", "dog"]) == ("b", "dog", False)  # a JSON-loaded item
    assert untag(ZeroedItem(("a", "it's \"x\""))) == ("a", "it's \"x\"", True)
    assert perturb([("a", "cat"), ("b", "dog")], {1}, "zero") == [("a", "cat"), ZeroedItem(("b", "dog"))]
    assert isinstance(perturb(["cat", "dog"], {1}, "zero")[1], ZeroedWord)  # words stay ZeroedWord


class RecordingPair(PairClassifier):
    """Constant logits; keeps the ids and attention masks it was given."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen = []

    def embed(self, input_ids):
        self.seen.append(input_ids.clone())
        return torch.zeros(*input_ids.shape, 1)

    def compare(self, emb_a, attn_a, emb_b, attn_b):
        self.seen.append((attn_a.clone(), attn_b.clone()))
        return torch.zeros(emb_a.shape[0], 2)


def test_pad_gives_every_piece_of_a_wordpiece_word_the_pad_id_and_keeps_its_attention():
    from core.data import pretrained
    from core.data.tokenizers import WordPieceTokenizer

    tokenizer = WordPieceTokenizer.from_directory(pretrained.minilm_dir())
    net = RecordingPair()
    model = LoadedPairModel("rec", net, tokenizer, {"label_names": ["no", "yes"], "pair": True})
    words = [("a", "the"), ("a", "snippets"), ("a", "run"), ("b", "cat")]
    marked = [words[0], ZeroedItem(words[1]), words[2], ZeroedItem(words[3])]
    pair_scorer(model, operation="pad")([marked])
    ids_a, ids_b, (attn_a, attn_b) = net.seen
    original_a, original_b = tokenizer.encode_words([["the", "snippets", "run"]]), tokenizer.encode_words([["cat"]])
    pieces = original_a.word_ids[0] == 1  # s ##ni ##ppet ##s
    assert int(pieces.sum()) == 4 and tokenizer.pad_id == 0
    assert ids_a[0, pieces].tolist() == [0] * 4
    assert torch.equal(ids_a[0, ~pieces], original_a.input_ids[0, ~pieces])  # [CLS], the, run, [SEP] untouched
    assert ids_b[0].tolist() == [original_b.input_ids[0, 0], 0, original_b.input_ids[0, 2]]
    assert attn_a.all() and attn_b.all()  # the pads stay attended


def test_pad_on_the_shipped_dattn_is_zero_embeddings_in_place():
    from core.models import load_model

    model = load_model("dattn-trec6-answer-type-pairs", device="cpu")
    assert model.model.embedding.weight[0].abs().sum() == 0  # the <pad> row
    words_a, words_b = ["what", "is", "the", "capital", "of", "peru"], ["name", "a", "city"]
    marked = [("a", w) for w in words_a] + [("b", w) for w in words_b]
    marked[3], marked[7] = ZeroedItem(marked[3]), ZeroedItem(marked[7])
    padded = pair_scorer(model, operation="pad")([marked])
    a, b = model.encode_words([words_a], [words_b])
    keep = torch.ones(1, len(words_a) + len(words_b))
    keep[0, [3, 7]] = 0
    with torch.no_grad():
        zeroed = torch.softmax(model.word_keep_logits(a, b, keep), -1).numpy()
    assert padded == pytest.approx(zeroed, abs=1e-6)
    removed = pair_scorer(model)([[t for i, t in enumerate(marked) if i not in (3, 7)]])
    assert not np.allclose(padded, removed)


def test_pair_evaluation_with_pad_has_its_own_store_key(masklens_home):
    from core.evaluation.pairs import evaluate_pairs
    from core.evaluation.runner import metric_params

    assert metric_params("aopc", 0, "remove", 10) == {"k_max": 10, "operation": "remove"}  # the earlier key
    common = {"explainers": ["zero"], "metrics": ["aopc", "posthoc", "degradation"], "n": 3, "device": "cpu",
              "progress": False, "aopc_k": 3}
    removed = evaluate_pairs("dattn-trec6-answer-type-pairs", **common)[0]["metrics"]
    padded = evaluate_pairs("dattn-trec6-answer-type-pairs", operation="pad", **common)[0]["metrics"]
    assert padded["aopc"]["per_k"] != removed["aopc"]["per_k"]
    assert padded["degradation"]["score"] != removed["degradation"]["score"]
    assert padded["posthoc"] == removed["posthoc"]  # keeps the top words: no deletion operation
    again = evaluate_pairs("dattn-trec6-answer-type-pairs", **common)[0]["metrics"]
    assert again == removed


def test_pair_ranking_by_magnitude_changes_only_signed_explainers(masklens_home):
    from core.evaluation import evaluate

    def run(ranking):
        return {r["explainer"]: r["metrics"]["aopc"]["value"]
                for r in evaluate("dattn-trec6-answer-type-pairs", explainers=["zero", "imask"], metrics=["aopc"],
                                  n=12, progress=False, ranking=ranking)}

    signed, magnitude = run("signed"), run("magnitude")
    assert magnitude["imask"] == signed["imask"]  # unsigned scores: the same order either way
    assert magnitude["zero"] != signed["zero"]
