"""Pair models and pair data: the derived TREC pair task, user pair CSVs, DAttn and the MiniLM cosine classifier."""

import io
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from core.data.datasets import DatasetError
from core.data.pairs import TREC_PAIRS, load_pair_csv, trec_answer_type_pairs
from core.models import load_model
from core.models.pair import LoadedPairModel
from core.models.pair_build import build_pair_classifier, bundle_pair, save_pair_model
from core.registry import list_models
from core.training.pairs import PairTrainSettings, train_dattn

TINY_SIM = {"encoder": {"bert_config": {"vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2,
                                        "num_attention_heads": 2, "intermediate_size": 64}, "seed": 0},
            "max_len": 32}
SHIPPED = {f"dattn-{TREC_PAIRS}", f"minilm-sim-{TREC_PAIRS}"}


def test_trec_pairs_are_balanced_within_splits_and_labelled_by_answer_type():
    from core.data.datasets import load_dataset

    data, trec = trec_answer_type_pairs(), load_dataset("trec6")
    for name in ("train", "dev", "test"):
        split, source = data.split(name), trec.split(name)
        type_of = dict(zip(source.ids, source.labels))
        assert abs(np.mean(split.labels) - 0.5) < 0.01
        for pair_id, label in list(zip(split.ids, split.labels))[:200]:
            first, second = pair_id.split("|")
            assert first in type_of and second in type_of  # both questions from this split
            assert label == int(type_of[first] == type_of[second])
    assert (len(data.train), len(data.dev), len(data.test)) == (8604, 538, 538)
    assert trec_answer_type_pairs().fingerprint == data.fingerprint


def _pair_csv(rows, header="text_a,text_b,label"):
    return io.BytesIO((header + "\n" + "\n".join(rows)).encode("utf-8"))


def toy_pair_rows(n=60):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        same = i % 2
        a = rng.choice(["good", "great", "fine"]) if same else rng.choice(["bad", "awful", "poor"])
        b = rng.choice(["good", "great", "fine"])
        rows.append(f"the movie {i} was {a},the film {i} was {b},{'same' if a in ('good', 'great', 'fine') else 'diff'}")
    return rows


def test_user_pair_csv_is_validated_and_split():
    upload = _pair_csv(toy_pair_rows(40))
    upload.name = "my_questions.csv"  # as a Streamlit upload carries it
    assert load_pair_csv(upload).name == "my_questions"
    data = load_pair_csv(_pair_csv(toy_pair_rows()), name="mine")
    assert data.label_names == ("diff", "same")
    assert len(data.train) + len(data.dev) + len(data.test) == 60 and len(data.test) >= 2
    with pytest.raises(DatasetError, match="no column 'text_b'"):
        load_pair_csv(_pair_csv(["a,b"], header="text_a,label"))
    with pytest.raises(DatasetError, match="only one class"):
        load_pair_csv(_pair_csv([f"a {i},b {i},x" for i in range(12)]))


def test_dattn_trains_on_a_user_pair_csv_saves_lists_and_reloads(masklens_home):
    data = load_pair_csv(_pair_csv(toy_pair_rows(80)), name="toy-pairs")
    model, metrics = train_dattn(data, PairTrainSettings(name="dattn-toy", epochs=2, hidden_dim=16, device="cpu"))
    assert metrics["majority_test_accuracy"] > 0 and 0 <= metrics["test_accuracy"] <= 1
    record = next(r for r in list_models() if r.name == "dattn-toy")
    assert record.pair and record.architecture == "dattn"
    loaded = load_model("dattn-toy", device="cpu")
    assert isinstance(loaded, LoadedPairModel)
    texts = (["the movie was good", "the film was awful"], ["the film was great", "the movie was fine"])
    np.testing.assert_allclose(loaded.predict_proba(*texts), model.predict_proba(*texts), atol=2e-3)  # fp16
    with pytest.raises(ValueError, match="not single strings"):
        loaded.predict_proba("the movie was good", "the film was great")
    with pytest.raises(ValueError, match="first texts but"):
        loaded.predict_proba(["a"], ["b", "c"])



def test_train_cli_trains_dattn_on_a_pair_csv(masklens_home, tmp_path, capsys):
    from core.train import main

    csv_path = tmp_path / "my_pairs.csv"
    csv_path.write_bytes(_pair_csv(toy_pair_rows(80)).getvalue())
    assert main(["--model", "dattn", "--csv", str(csv_path), "--epochs", "2", "--name", "cli-dattn",
                 "--device", "cpu", "--format", "json", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["name"] == "cli-dattn" and summary["path"].endswith("cli-dattn")
    assert load_model("cli-dattn", device="cpu").config["pair"] is True
    with pytest.raises(ValueError, match="method base only"):
        main(["--model", "dattn", "--csv", str(csv_path), "--method", "vmask"])
    with pytest.raises(ValueError, match="needs a pair dataset"):
        main(["--model", "dattn", "--dataset", "trec6"])
    for bad, message in ((["--epochs", "0"], "epochs must be positive"), (["--batch-size", "0"], "batch_size must be")):
        with pytest.raises(ValueError, match=message):
            main(["--model", "dattn", "--csv", str(csv_path), *bad])

def test_dattn_predictions_do_not_depend_on_padding():
    vocab = ["<pad>", "<unk>", "the", "movie", "was", "good", "bad", "a", "film", "long", "very"]
    torch.manual_seed(0)
    config = {"architecture": "dattn", "label_names": ["x", "y"],
              "model_config": {"vocab": vocab, "max_len": 20, "hidden_dim": 8, "dropout": 0.2, "embedding_seed": 0}}
    model = bundle_pair(build_pair_classifier("dattn", config["model_config"], 2), config)
    alone = model.predict_words([(["the", "movie"], ["good"])])
    padded = model.predict_words([(["the", "movie"], ["good"]),
                                  (["a", "very", "very", "long", "film"], ["the", "movie", "was", "bad"])])
    np.testing.assert_allclose(padded[0], alone[0], atol=1e-6)


def test_cosine_classifier_is_the_calibrated_logistic_and_round_trips(tmp_path):
    config = {"architecture": "minilm-sim", "method": "calibrated-cosine", "dataset": "x", "label_names": ["no", "yes"],
              "model_config": TINY_SIM}
    model = bundle_pair(build_pair_classifier("minilm-sim", TINY_SIM, 2), config)
    model.model.threshold.fill_(0.3)
    model.model.scale.fill_(7.0)
    a, b = model.encode(["a cat sat"], ["a dog ran fast"])
    net = model.model
    cos = float(net.cosine(net.embed(a.input_ids), a.attention_mask, net.embed(b.input_ids), b.attention_mask)[0])
    p_yes = model.predict_proba(["a cat sat"], ["a dog ran fast"])[0, 1]
    assert p_yes == pytest.approx(1 / (1 + math.exp(-7.0 * (cos - 0.3))), abs=1e-5)
    save_pair_model(model, tmp_path / "sim")
    assert (tmp_path / "sim" / "model.safetensors").stat().st_size < 1000  # only threshold and scale are stored
    again = load_model(tmp_path / "sim", device="cpu")
    assert again.predict_proba(["a cat sat"], ["a dog ran fast"])[0, 1] == pytest.approx(p_yes, abs=1e-6)


def test_shipped_pair_models_are_listed_with_pair_true():
    out = subprocess.run([sys.executable, "-m", "core.models", "list", "--format", "json", "--no-user"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    records = {r["name"]: r for r in json.loads(out.stdout)}
    assert SHIPPED <= set(records)
    assert all(records[name]["pair"] is True for name in SHIPPED)
    assert all(r["pair"] is False for name, r in records.items() if name not in SHIPPED and "pair" not in name)


def test_shipped_dattn_beats_the_majority_class():
    model = load_model(f"dattn-{TREC_PAIRS}", device="cpu")
    metrics = model.config["metrics"]
    assert metrics["test_accuracy"] > metrics["majority_test_accuracy"] + 0.1
    probs = model.predict_proba(["what is the capital of france ?"], ["what city is the largest in spain ?"])
    assert probs.shape == (1, 2) and abs(probs.sum() - 1) < 1e-5


def test_explain_cli_takes_text_b_and_gmask(capsys):
    from core.cli_common import run_cli
    from core.explain.__main__ import main

    pair = ["--model", f"dattn-{TREC_PAIRS}", "--text", "who wrote hamlet ?", "--device", "cpu"]
    assert run_cli(main, pair + ["--text-b", "who painted the mona lisa ?", "--methods", "gmask,zero",
                                 "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in records] == ["gmask", "zero"]
    assert records[0]["n_words_a"] == 4 and len(records[0]["words"]) == 4 + 6
    assert records[0]["groups"] and records[0]["text_b"] == "who painted the mona lisa ?"
    assert run_cli(main, pair + ["--methods", "zero"]) == 2
    assert "--text-b" in capsys.readouterr().err
    single = ["--model", "cnn-base-trec6", "--text", "who ?", "--text-b", "what ?", "--methods", "zero"]
    assert run_cli(main, single) == 2
    assert "reads one text" in capsys.readouterr().err


def tiny_pair_folder(folder, seed: int = 0):
    """A tiny random 3-class BERT cross-encoder with the packaged MiniLM tokenizer, saved in ``folder``."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from core.data import pretrained

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, num_labels=3, id2label={0: "entail", 1: "neutral", 2: "contradict"},
                        label2id={"entail": 0, "neutral": 1, "contradict": 2})
    BertForSequenceClassification(config).save_pretrained(folder)
    hf_tokenizer = AutoTokenizer.from_pretrained(str(pretrained.minilm_dir()), local_files_only=True)
    hf_tokenizer.save_pretrained(folder)
    return hf_tokenizer


def test_a_hugging_face_sequence_pair_classifier_from_a_local_directory(tmp_path):
    from transformers import BertForSequenceClassification

    from core.explain.registry import explain_pair

    hf_tokenizer = tiny_pair_folder(tmp_path / "hf")
    model = load_model(f"hf-pair:{tmp_path / 'hf'}", device="cpu")
    assert model.label_names == ["entail", "neutral", "contradict"]
    # the wrapper's joint sequence gives what the model gives on its own tokenizer's pair encoding
    text_a, text_b = "a man plays a guitar", "a man plays the banjo"
    reference = BertForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    with torch.no_grad():
        expected = torch.softmax(reference(**hf_tokenizer(text_a, text_b, return_tensors="pt")).logits, -1)[0]
    np.testing.assert_allclose(model.predict_proba([text_a], [text_b])[0], expected.numpy(), atol=1e-5)
    run = explain_pair(model, text_a, text_b, methods=["zero", "gmask"], gmask={"steps": 5, "n_samples": 4})
    assert [len(e.scores) for e in run.explanations] == [10, 10]


def test_a_registered_pair_classifier_is_listed_loads_by_name_and_refuses_a_changed_folder(tmp_path, monkeypatch):
    from core import paths
    from core.checkpoints import CheckpointError
    from core.models.__main__ import main as models_cli
    from core.registry import list_models

    monkeypatch.setattr(paths, "user_home", lambda: tmp_path / "home")
    folder = tmp_path / "nli"
    tiny_pair_folder(folder)
    assert models_cli(["register", "my-nli", f"hf-pair:{folder}"]) == 0
    record = next(r for r in list_models() if r.name == "my-nli")
    assert (record.architecture, record.pair, record.label_names) == ("hf-pair", True,
                                                                      ("entail", "neutral", "contradict"))
    by_name, by_source = load_model("my-nli", device="cpu"), load_model(f"hf-pair:{folder}", device="cpu")
    assert by_name.name == "my-nli" and by_name.config["weights_sha256"] == by_source.config["weights_sha256"]
    pairs = (["a man plays a guitar", "who wrote hamlet ?"], ["a man plays the banjo", "who painted the mona lisa ?"])
    np.testing.assert_array_equal(by_name.predict_proba(*pairs), by_source.predict_proba(*pairs))
    assert not list((tmp_path / "home" / "models" / "my-nli").glob("*.safetensors"))  # weights not copied
    tiny_pair_folder(folder, seed=1)
    with pytest.raises(CheckpointError, match="changed since it was registered"):
        load_model("my-nli", device="cpu")


def test_the_sentence_pairs_page_adds_a_pair_classifier_and_explains_with_it(tmp_path, masklens_home):
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    folder = tmp_path / "nli"
    tiny_pair_folder(folder)
    at = AppTest.from_file(APP, default_timeout=180).run()
    at = at.switch_page("pages/6_Sentence_pairs.py").run()
    at.text_input(key="pairs-hf-source").input(str(folder))
    at.text_input(key="pairs-hf-name").input("my-nli").run()
    at.button(key="pairs-hf-add").click().run()
    assert not at.exception and any("my-nli" in s.value for s in at.success), [e.value for e in at.error]
    at.selectbox(key="pair_model").select("my-nli").run()
    at.multiselect(key="pair_methods").set_value(["zero"]).run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    assert any(m.value.startswith("**Prediction:**") for m in at.markdown)
    html = "".join(element.proto.body for element in at.get("html"))
    assert 'data-method="zero"' in html


def test_registering_a_pair_classifier_from_a_missing_folder_says_so(tmp_path, monkeypatch):
    from core import paths
    from core.models.__main__ import main as models_cli

    monkeypatch.setattr(paths, "user_home", lambda: tmp_path / "home")
    with pytest.raises(ValueError, match="there is no folder"):
        models_cli(["register", "my-nli", f"hf-pair:{tmp_path / 'missing'}"])
    with pytest.raises(ValueError, match="not allowed"):
        models_cli(["register", "../escape", f"hf-pair:{tmp_path / 'missing'}"])  # the name is checked first
