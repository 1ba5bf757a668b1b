"""Bring your own Hugging Face classifier: tiny random BERT, RoBERTa (BPE), DistilBERT and ALBERT
(SentencePiece-style) models saved with ``save_pretrained`` and loaded through ``hf:`` (no network)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.data.tokenizers import SubwordTokenizer, WordPieceTokenizer
from core.explain.registry import explainers_for, get_explainer, skip_reason
from core.models.loading import load_model
from tests import hf_toy

TEXT = "The acting is wooden, but the score is wonderful!"
TEXTS = [TEXT, "I loved it", "bad", "what a   terrible\twaste of time"]
FAST = {"lime": {"n_samples": 60}, "shapley": {"n_permutations": 3}}
MASK_ONLY = {"vmask", "global", "evarm", "attention"}  # explainers that read a MaskLens mask or attention pooling


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {family: hf_toy.save_classifier(family, root / family) for family in hf_toy.FAMILIES}


@pytest.fixture(scope="module")
def models(folders):
    return {family: load_model(f"hf:{folder}", device="cpu") for family, folder in folders.items()}


@pytest.fixture(scope="module")
def likelihood():
    from core.lm.priors import UniformLikelihood

    return UniformLikelihood(["good", "bad", "film", "plot", "dull", "fine", "great", "wonderful"])


@pytest.mark.parametrize("family", hf_toy.FAMILIES)
def test_probabilities_are_the_hugging_face_models_own(models, family):
    model = models[family]
    ours = model.predict_proba(TEXTS)
    encoded = model.tokenizer.hf([" ".join(t.split()) for t in TEXTS], padding=True, return_tensors="pt")
    with torch.no_grad():
        theirs = torch.softmax(model.model.hf(**encoded).logits, -1).numpy()
    assert np.abs(ours - theirs).max() == 0.0
    assert model.label_names == ["NEGATIVE", "POSITIVE"]  # from id2label


@pytest.mark.parametrize("family", hf_toy.FAMILIES)
def test_pieces_are_aligned_to_raw_words_and_special_tokens_get_none(models, family):
    tokenizer = models[family].tokenizer
    batch = tokenizer.encode([TEXT])
    words = TEXT.split()
    assert batch.words[0] == words  # case and punctuation kept
    real = batch.attention_mask[0]
    ids, wids = batch.input_ids[0][real].tolist(), batch.word_ids[0][real].tolist()
    assert ids == tokenizer.hf(TEXT)["input_ids"]  # the tokenizer's own encoding, specials included
    special = set(tokenizer.hf.all_special_ids)
    assert all((w < 0) == (i in special) for i, w in zip(ids, wids))
    assert sorted(set(w for w in wids if w >= 0)) == list(range(len(words)))
    for index, word in enumerate(words):  # each word's pieces decode back to the word
        pieces = [i for i, w in zip(ids, wids) if w == index]
        assert tokenizer.hf.decode(pieces).strip().lower() == word.lower()


def test_bpe_words_after_a_space_get_the_leading_space_pieces(models):
    tokenizer = models["roberta"].tokenizer
    first, = tokenizer.pieces_of(["great"], first=True)
    later, = tokenizer.pieces_of(["great"], first=False)
    assert not tokenizer.hf.convert_ids_to_tokens(first)[0].startswith("\u0120")
    assert tokenizer.hf.convert_ids_to_tokens(later)[0].startswith("\u0120")
    batch = tokenizer.encode_words([["so", "great"]])
    assert batch.input_ids[0][batch.word_ids[0] == 1].tolist() == later


def test_truncation_keeps_whole_words_within_max_len(folders):
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(folders["roberta"]), local_files_only=True)
    tokenizer = SubwordTokenizer(hf, max_len=8, words="raw")
    batch = tokenizer.encode([TEXT])
    assert batch.truncated == [True] and int(batch.attention_mask.sum()) <= 8
    kept = len(batch.words[0])
    assert 0 < kept < len(TEXT.split())
    full = tokenizer.pieces([TEXT.split()])[0]
    assert int(batch.token_mask.sum()) == sum(len(p) for p in full[:kept])


def test_wordpiece_tokenizer_gives_each_word_its_own_pieces():
    from core.data.pretrained import minilm_dir

    tokenizer = WordPieceTokenizer.from_directory(minilm_dir())
    words = ["unbelievably", "good", "n't", "café", "x" * 150]
    batch = tokenizer.encode_words([words])
    for index, word in enumerate(words):
        alone = tokenizer.hf.convert_tokens_to_ids(tokenizer.hf.tokenize(word)) or [tokenizer.unk_id]
        assert batch.input_ids[0][batch.word_ids[0] == index].tolist() == alone


def test_a_tokenizer_without_offsets_is_refused():
    class Slow:
        is_fast = False

    with pytest.raises(ValueError, match="fast"):
        SubwordTokenizer(Slow())


@pytest.mark.parametrize("family", hf_toy.FAMILIES)
def test_every_post_hoc_explainer_runs_on_each_family(models, likelihood, family):
    model = models[family]
    ran = []
    for name in sorted(explainers_for("text")):
        reason = skip_reason(name, model)
        if name in MASK_ONLY:
            assert reason, f"{name} claims to apply to a model without a mask"
            continue
        assert not reason, f"{name} skipped on {family}: {reason}"
        kwargs = dict(FAST.get(name, {}))
        if name == "marginal":
            kwargs["likelihood"] = likelihood
        explanation = get_explainer(name, model, **kwargs).explain(TEXT)
        assert explanation.words == TEXT.split() and len(explanation.scores) == len(explanation.words)
        assert all(np.isfinite(explanation.scores))
        json.dumps(explanation.to_dict())
        ran.append(name)
    assert {"zero", "unk", "marginal", "lime", "shapley", "grad_input", "integrated_gradients", "saliency"} <= set(ran)


def test_unk_erasure_uses_the_models_own_unknown_token(models):
    from core.metrics import unk_token_for

    assert unk_token_for(models["roberta"]) == "<unk>" == models["roberta"].tokenizer.unk_token
    assert unk_token_for(models["bert"]) == "[UNK]"
    batch = models["roberta"].tokenizer.encode_words([["so", "<unk>"]])
    assert batch.input_ids[0][batch.word_ids[0] == 1].tolist() == [models["roberta"].tokenizer.unk_id]


@pytest.mark.parametrize("family", ["roberta", "albert"])
def test_marginalization_shortcut_equals_the_reference_loop_on_bpe_and_sentencepiece(models, likelihood, family):
    from core.explain.marginal import InputMarginalization, marginalize_reference

    model = models[family]
    explanation = InputMarginalization(model, likelihood=likelihood, budget="exact").explain(TEXT)
    reference, _ = marginalize_reference(model, model.encode([TEXT]), explanation.target, likelihood)
    assert np.abs(np.array(explanation.scores) - np.array(reference)).max() < 1e-5  # float32 batching


@pytest.mark.parametrize("target", [0, 1])
def test_integrated_gradients_completeness_on_roberta(models, target):
    from core.explain.gradient import IntegratedGradients

    model = models["roberta"]
    explanation = IntegratedGradients(model, n_steps=32).explain(TEXT, target=target)
    batch = model.encode([TEXT])
    with torch.no_grad():
        embeddings = model.model.embed(batch.input_ids)
        embeddings[batch.word_ids >= 0] = 0
        p_zero = float(torch.softmax(model.model.forward_embeddings(embeddings, batch.attention_mask).logits[0],
                                     -1)[target])
    gap = explanation.probs[target] - p_zero
    assert abs(gap) > 1e-3
    assert abs(sum(explanation.scores) - gap) <= abs(explanation.details["convergence_delta"]) + 1e-4


@pytest.mark.parametrize("family", hf_toy.FAMILIES)
def test_every_metric_runs_through_evaluate_on_a_bundled_dataset(folders, likelihood, tmp_path, family):
    from core.data.datasets import load_dataset
    from core.evaluation.runner import evaluate
    from core.evaluation.metric_specs import METRIC_SPECS
    from core.evaluation.store import EvaluationStore

    metrics = [name for name, spec in METRIC_SPECS.items() if spec.applies_to_texts]
    records = evaluate(f"hf:{folders[family]}", explainers=["zero", "lime"], metrics=metrics, n=3,
                       store=EvaluationStore(tmp_path), params={"lime": {"n_samples": 40}},
                       data=load_dataset("movie-snippets"), progress=False, device="cpu", likelihood=likelihood)
    for record in records:
        assert not record["skipped"] and not record["errors"] and record["n"] == 3
        assert set(record["metrics"]) == set(metrics)
    with pytest.raises(ValueError, match="gold labels"):  # NEGATIVE/POSITIVE is not trec6's six classes
        evaluate(f"hf:{folders['roberta']}", explainers=["zero"], metrics=["aopc"], n=2, unit="accuracy",
                 store=EvaluationStore(tmp_path), data=load_dataset("trec6"), progress=False, device="cpu")


def test_without_data_the_message_says_what_to_pass(folders, tmp_path):
    from core.data.csv_input import DatasetError
    from core.evaluation.runner import evaluate
    from core.evaluation.store import EvaluationStore

    with pytest.raises(DatasetError, match="--dataset NAME or --csv FILE"):
        evaluate(f"hf:{folders['bert']}", explainers=["zero"], metrics=["aopc"], n=2,
                 store=EvaluationStore(tmp_path), progress=False, device="cpu")


def test_the_label_check_accepts_same_names_and_generic_ones():
    from core.data.model_data import label_mismatch

    assert label_mismatch(["NEGATIVE", "POSITIVE"], ["negative", "positive"]) is None
    assert label_mismatch(["LABEL_0", "LABEL_1"], ["rotten", "fresh"]) is None
    assert "not the data's" in label_mismatch(["positive", "negative"], ["negative", "positive"])
    assert "2 classes" in label_mismatch(["a", "b"], ["x", "y", "z"])


def test_a_missing_model_says_where_it_was_looked_for(tmp_path):
    with pytest.raises(ValueError, match=f"there is no folder {tmp_path / 'nothing'}: give a folder written by"):
        load_model(f"hf:{tmp_path / 'nothing'}")
    with pytest.raises(ValueError, match="local Hugging Face cache"):
        load_model("hf:nobody-has-this/model-name")


def test_registered_model_is_listed_loads_by_name_and_refuses_a_changed_folder(folders, tmp_path, monkeypatch):
    import shutil

    from core import paths
    from core.checkpoints import CheckpointError
    from core.models.__main__ import main as models_cli
    from core.registry import list_models

    monkeypatch.setattr(paths, "user_home", lambda: tmp_path / "home")
    folder = tmp_path / "mine"
    shutil.copytree(folders["distilbert"], folder)
    assert models_cli(["register", "my-sentiment", f"hf:{folder}"]) == 0
    record = next(r for r in list_models() if r.name == "my-sentiment")
    assert (record.architecture, record.source, record.label_names) == ("hf", "user", ("NEGATIVE", "POSITIVE"))
    by_name, by_source = load_model("my-sentiment", device="cpu"), load_model(f"hf:{folder}", device="cpu")
    assert by_name.name == "my-sentiment"
    assert by_name.config["weights_sha256"] == by_source.config["weights_sha256"]
    assert np.array_equal(by_name.predict_proba(TEXTS), by_source.predict_proba(TEXTS))
    assert not list((tmp_path / "home" / "models" / "my-sentiment").glob("*.safetensors"))  # weights not copied
    hf_toy.classifier_for("distilbert", len(by_source.tokenizer.hf), seed=1).save_pretrained(folder)
    with pytest.raises(CheckpointError, match="changed since it was registered"):
        load_model("my-sentiment", device="cpu")
    with pytest.raises(ValueError, match="not allowed"):
        models_cli(["register", "../escape", f"hf:{folder}"])


def test_sentence_vectors_are_what_the_class_scorer_reads(models):
    from core.representations import sentence_representations

    reps = sentence_representations(models["roberta"], TEXTS)
    assert reps.shape == (len(TEXTS), 32)
    head = models["roberta"].model.head
    logits = torch.from_numpy(reps) @ head.weight.T + head.bias
    assert torch.allclose(logits.softmax(-1), torch.from_numpy(models["roberta"].predict_proba(TEXTS)), atol=1e-6)


def test_explain_page_adds_a_hugging_face_model_and_explains_with_it(folders, masklens_home):
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    at = AppTest.from_file(APP, default_timeout=180).run()
    at = at.switch_page("pages/1_Explain.py").run()
    at.text_input(key="explain-hf-source").input(str(folders["bert"] / "missing")).run()
    at.button(key="explain-hf-add").click().run()
    assert any("there is no folder" in e.value for e in at.error), [e.value for e in at.error]
    at.text_input(key="explain-hf-source").input(str(folders["bert"]))
    at.text_input(key="explain-hf-name").input("my-bert").run()
    at.button(key="explain-hf-add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("my-bert" in s.value for s in at.success)
    model_box = next(box for box in at.selectbox if box.label == "Model")
    assert "my-bert" in model_box.options
    model_box.select("my-bert").run()
    next(box for box in at.multiselect if box.label == "Methods").set_value(["zero", "integrated_gradients"]).run()
    at.text_area(key="explain_text").input("The acting is wooden, but the score is wonderful!").run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    html = "".join(element.proto.body for element in at.get("html"))
    assert 'data-method="zero"' in html and 'data-method="integrated_gradients"' in html
    assert any("NEGATIVE" in m.value for m in at.markdown if m.value.startswith("**Prediction:**"))
    at = at.switch_page("app.py").run()  # Home lists it, without a training method or dataset of its own
    table = next(frame.value for frame in at.table if "method" in frame.value.columns)
    row = table[table["name"] == "my-bert"].iloc[0]
    assert (row["method"], row["dataset"], row["architecture"]) == ("– (not trained here)", "(picked on each page)",
                                                                    "hf")


@pytest.mark.parametrize("pair", [False, True])
def test_a_registered_model_reads_its_weights_once_when_loaded_by_name(folders, tmp_path, monkeypatch, pair):
    import shutil

    from transformers import AutoModelForSequenceClassification

    from core import paths
    from core.models.__main__ import main as models_cli

    monkeypatch.setattr(paths, "user_home", lambda: tmp_path / "home")
    folder = tmp_path / "mine"
    shutil.copytree(folders["bert"], folder)
    assert models_cli(["register", "mine", f"{'hf-pair:' if pair else ''}{folder}"]) == 0
    real, calls = AutoModelForSequenceClassification.from_pretrained, []

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(AutoModelForSequenceClassification, "from_pretrained", counting)
    load_model("mine", device="cpu")
    assert len(calls) == 1, calls  # the tokenizer is read on its own, not with a second copy of the model
