"""Masks on a user's own Hugging Face encoder (``--encoder``): tiny BERT, RoBERTa and DistilBERT folders.

Every encoder here is randomly initialised from a config and saved with ``save_pretrained`` into a
temporary folder with a tokenizer (BERT/DistilBERT: the packaged MiniLM WordPiece tokenizer saved
again; RoBERTa: a byte-level BPE trained on a few sentences), so nothing comes from the hub.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core.checkpoints import CheckpointError
from core.models import load_model
from core.models.encoder import build_encoder, encoder_identity, resolve_source
from core.models.factory import build_classifier, bundle, save_model
from core.training import TrainSettings
from core.training.freezing import trainable_only
from core.training.vat import trainable_prefixes

FAMILIES = ("bert", "roberta", "distilbert")
LAYERS_PREFIX = {"bert": "encoder.layer.", "roberta": "encoder.layer.", "distilbert": "transformer.layer."}
SIZES = {"hidden": 32, "layers": 2, "heads": 2, "intermediate": 37}
SENTENCES = ["a great movie", "the plot was awful", "boring acting , superb score", "it is good",
             "this film is wonderful", "a terrible , boring story"]
VMASK = {"kind": "vmask", "hidden_dim": 16, "tau": 0.5}
EVARM = {"kind": "evarm", "hidden_dim": 16, "tau": 0.5}


def wordpiece_tokenizer():
    """The packaged MiniLM tokenizer (30522 word pieces)."""
    from transformers import AutoTokenizer

    from core.data.pretrained import minilm_dir

    return AutoTokenizer.from_pretrained(str(minilm_dir()), local_files_only=True)


def bpe_tokenizer():
    """A tiny byte-level BPE (RoBERTa's kind) trained on :data:`SENTENCES`, as a Hugging Face fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import RobertaTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(SENTENCES * 4, trainers.BpeTrainer(vocab_size=300, special_tokens=specials,
                                                               initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    bpe.post_processor = processors.RobertaProcessing(("</s>", bpe.token_to_id("</s>")),
                                                      ("<s>", bpe.token_to_id("<s>")))
    return RobertaTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")


def tiny_model(family: str, vocab_size: int, pad_id: int, seed: int = 0):
    """A randomly initialised base encoder of ``family`` (hidden 32, 2 layers, 2 heads, intermediate 37)."""
    from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel, RobertaConfig, RobertaModel

    torch.manual_seed(seed)
    h, n, a, i = SIZES["hidden"], SIZES["layers"], SIZES["heads"], SIZES["intermediate"]
    if family == "distilbert":
        return DistilBertModel(DistilBertConfig(vocab_size=vocab_size, dim=h, n_layers=n, n_heads=a, hidden_dim=i,
                                                max_position_embeddings=64, pad_token_id=pad_id))
    config_class, model_class = (RobertaConfig, RobertaModel) if family == "roberta" else (BertConfig, BertModel)
    return model_class(config_class(vocab_size=vocab_size, hidden_size=h, num_hidden_layers=n, num_attention_heads=a,
                                    intermediate_size=i, max_position_embeddings=66, pad_token_id=pad_id))


def save_encoder(family: str, folder: Path, seed: int = 0) -> Path:
    """Save a tiny ``family`` encoder and its tokenizer into ``folder`` (vocabulary sizes match)."""
    tokenizer = bpe_tokenizer() if family == "roberta" else wordpiece_tokenizer()
    tiny_model(family, len(tokenizer), tokenizer.pad_token_id, seed).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def encoders(tmp_path_factory) -> dict[str, Path]:
    """Family -> the folder of its tiny saved encoder."""
    root = tmp_path_factory.mktemp("encoders")
    return {family: save_encoder(family, root / family) for family in FAMILIES}


def model_config(folder: Path, trainable_layers: int | None = None) -> dict:
    config = {"encoder": encoder_identity(str(folder)), "max_len": 32, "dropout": 0.2}
    return config if trainable_layers is None else {**config, "trainable_layers": trainable_layers}


def tiny_bundle(folder: Path, mask: dict, trainable_layers: int | None = None, seed: int = 0):
    torch.manual_seed(seed)
    config = {"architecture": "minilm", "method": "vmask", "dataset": "toy", "pair": False,
              "model_config": model_config(folder, trainable_layers),
              "mask_config": mask, "label_names": ["negative", "positive"]}
    return bundle(build_classifier("minilm", config["model_config"], mask, num_classes=2), config, name="tiny")


@pytest.mark.parametrize("family", FAMILIES)
def test_trainable_layers_freeze_the_right_parameters(encoders, family):
    net = tiny_bundle(encoders[family], VMASK, trainable_layers=1).model
    layers = LAYERS_PREFIX[family]
    assert net.layout.layers_prefix == layers and net.layout.num_layers == 2
    frozen = set(net.frozen_parameter_names())
    assert "encoder.embeddings.word_embeddings.weight" in frozen
    assert all(name in frozen for name, _ in net.named_parameters() if name.startswith("encoder.embeddings."))
    assert any(name.startswith(f"encoder.{layers}0.") for name in frozen)
    assert not any(name.startswith(f"encoder.{layers}1.") for name in frozen)
    assert {name for name, p in net.named_parameters() if not p.requires_grad} == frozen
    assert not any("pooler" in name for name, _ in net.named_parameters())

    every = tiny_bundle(encoders[family], VMASK).model  # all layers: only the word-piece table is frozen
    assert every.frozen_parameter_names() == ["encoder.embeddings.word_embeddings.weight"]


@pytest.mark.parametrize("family", FAMILIES)
def test_vat_learner_phase_trains_the_encoder_but_not_its_frozen_parts(encoders, family):
    net = tiny_bundle(encoders[family], {"kind": "none"}, trainable_layers=1).model
    with trainable_only(net, trainable_prefixes("learn", "minilm")) as names:
        assert any(name.startswith(f"encoder.{LAYERS_PREFIX[family]}1.") for name in names)
        assert not set(names) & set(net.frozen_parameter_names())
        assert "head.1.weight" in names and not any(name.startswith("mask.") for name in names)


@pytest.mark.parametrize("family", FAMILIES)
def test_evarm_gate_reads_every_hidden_state(encoders, family):
    model = tiny_bundle(encoders[family], EVARM)
    net = model.model.eval()
    assert net.mask.gate[0].in_features == SIZES["hidden"] * (SIZES["layers"] + 1)
    batch = model.encode(["the plot was awful", "a great movie"])
    with torch.no_grad():
        states = net.all_layer_states(net.embed(batch.input_ids), batch.attention_mask)
        alpha = net.token_importance(batch.input_ids, batch.attention_mask, batch.token_mask)
    assert states.shape == (*batch.input_ids.shape, SIZES["hidden"] * 3)
    assert torch.all((alpha >= 0) & (alpha <= 1)) and torch.all(alpha[~batch.token_mask] == 0)


@pytest.mark.parametrize("family", FAMILIES)
def test_checkpoint_stores_the_encoder_identity_not_its_frozen_weights(encoders, family, tmp_path):
    model = tiny_bundle(encoders[family], VMASK, trainable_layers=1)
    with torch.no_grad():
        model.model.head[1].weight.add_(0.5)  # anything a fresh build would not give
    path = save_model(model, tmp_path / "ckpt")
    stored = set(load_file(str(path / "model.safetensors")))
    assert not stored & set(model.model.frozen_parameter_names())
    assert any(name.startswith(f"encoder.{LAYERS_PREFIX[family]}1.") for name in stored)
    loaded = load_model(path, device="cpu")
    spec = loaded.config["model_config"]["encoder"]
    assert spec == {"source": str(encoders[family]), "path": str(encoders[family].resolve())}
    assert "encoder.embeddings.word_embeddings.weight" in loaded.config["frozen_fingerprints"]
    assert type(loaded.tokenizer).__name__ == "SubwordTokenizer" and len(loaded.tokenizer.hf) == len(
        model.tokenizer.hf)
    assert torch.equal(torch.tensor(loaded.predict_proba(SENTENCES)), torch.tensor(model.predict_proba(SENTENCES)))
    alone = loaded.predict_proba(SENTENCES[:1])  # padding in a batch changes nothing (position ids of RoBERTa too)
    assert torch.allclose(torch.tensor(alone), torch.tensor(loaded.predict_proba(SENTENCES)[:1]), atol=1e-5)


def test_a_changed_or_missing_encoder_folder_is_refused(encoders, tmp_path):
    folder = tmp_path / "my-bert"
    shutil.copytree(encoders["bert"], folder)
    path = save_model(tiny_bundle(folder, VMASK), tmp_path / "ckpt")
    assert load_model(path, device="cpu") is not None
    save_encoder("bert", folder, seed=1)  # the same folder, other weights
    with pytest.raises(CheckpointError, match=r"embeddings\.word_embeddings\.weight differs.*my-bert"):
        load_model(path, device="cpu")
    shutil.rmtree(folder)
    with pytest.raises(CheckpointError, match=r"encoder cannot be found: the encoder folder .*my-bert.* is missing"):
        load_model(path, device="cpu")


def test_a_missing_encoder_gets_a_clear_error(encoders, tmp_path):
    with pytest.raises(ValueError, match=r"no encoder .*no folder .*nowhere.* local Hugging Face cache"):
        build_encoder({"source": str(tmp_path / "nowhere")})
    with pytest.raises(ValueError, match="no config.json"):
        resolve_source(str(tmp_path))
    with pytest.raises(ValueError, match="no encoder 'no-such/model'"):
        TrainSettings(architecture="minilm", method="vmask", encoder="no-such/model").resolved()
    with pytest.raises(ValueError, match="an encoder needs architecture minilm"):
        TrainSettings(architecture="cnn", encoder=str(encoders["bert"])).resolved()


def test_a_cached_hub_name_resolves_to_its_snapshot(encoders, tmp_path, monkeypatch):
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    snapshot = cache / "models--someone--tiny-bert" / "snapshots" / "0123abcd"
    shutil.copytree(encoders["bert"], snapshot)
    (cache / "models--someone--tiny-bert" / "refs").mkdir()
    (cache / "models--someone--tiny-bert" / "refs" / "main").write_text("0123abcd")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    assert resolve_source("someone/tiny-bert") == snapshot
    assert encoder_identity("someone/tiny-bert") == {"source": "someone/tiny-bert", "path": str(snapshot)}


def test_a_task_model_folder_gives_its_base_encoder(encoders, tmp_path):
    from transformers import BertForSequenceClassification

    tokenizer = wordpiece_tokenizer()
    torch.manual_seed(0)
    base = tiny_model("bert", len(tokenizer), tokenizer.pad_token_id)
    task = BertForSequenceClassification(base.config)
    task.save_pretrained(tmp_path / "task")
    tokenizer.save_pretrained(tmp_path / "task")
    encoder = build_encoder({"source": str(tmp_path / "task")})
    assert type(encoder).__name__ == "BertModel" and encoder.pooler is None
    assert torch.equal(encoder.embeddings.word_embeddings.weight, task.bert.embeddings.word_embeddings.weight)


def write_csv(path: Path, n: int = 48) -> Path:
    labels = ["positive", "negative", "negative", "positive"]  # of SENTENCES[:4]
    rows = ["text,label"] + [f"{SENTENCES[i % 4].replace(',', '')} number {i},{labels[i % 4]}" for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_train_cli_runs_vmask_on_a_tiny_bert_and_reloads(encoders, tmp_path, masklens_home, capsys):
    from core.train import main

    argv = ["--encoder", str(encoders["bert"]), "--method", "vmask", "--csv", str(write_csv(tmp_path / "t.csv")),
            "--max-train", "32", "--epochs", "1", "--batch-size", "16", "--minilm-trainable-layers", "1",
            "--name", "tiny-bert-vmask", "--no-progress", "--format", "json", "--device", "cpu"]
    assert main(argv) == 0
    model = load_model("tiny-bert-vmask", device="cpu")
    assert model.config["architecture"] == "minilm" and model.config["training"]["encoder"] == str(encoders["bert"])
    assert model.config["model_config"]["encoder"]["path"] == str(encoders["bert"].resolve())
    scores = model.model.token_importance(*(lambda b: (b.input_ids, b.attention_mask, b.token_mask))(
        model.encode(["a great movie"])))
    assert scores.shape[1] == 5 and model.predict_proba(["a great movie"]).shape == (1, 2)


@pytest.mark.parametrize("family, method", [("bert", "iba"), ("roberta", "l2x"), ("distilbert", "att"),
                                            ("roberta", "vat"), ("distilbert", "vat"), ("roberta", "evarm"),
                                            ("distilbert", "evarm_mask")])
def test_every_mask_method_trains_on_each_family(encoders, family, method):
    from core.training import train
    from tests.toy import toy_dataset

    settings = TrainSettings(architecture="minilm", method=method, encoder=str(encoders[family]), epochs=1,
                             batch_size=16, vat_iterations=1, minilm_trainable_layers=1, device="cpu")
    result = train(settings, data=toy_dataset(n_train=32, n_eval=16), save=False, progress=False)
    assert result.model.config["model_config"]["encoder"]["source"] == str(encoders[family])
    assert 0.0 <= result.metrics["test_accuracy"] <= 1.0 and result.history


def test_the_train_page_takes_an_encoder_for_the_transformer_only(encoders, masklens_home):
    from tests.test_pages_train_repr import TRAIN_PAGE, page

    at = page(TRAIN_PAGE)
    assert not [box for box in at.text_input if box.key == "train_encoder"]  # cnn: no encoder box
    at.selectbox(key="train_architecture").select("minilm").run()
    box = at.text_input(key="train_encoder")
    assert box.label.startswith("Encoder (local folder or cached Hugging Face name; empty = packaged MiniLM)")
    box.input("no-such/encoder").run()
    assert any("Bad settings: no encoder 'no-such/encoder'" in e.value for e in at.error), [e.value for e in at.error]
    at.text_input(key="train_encoder").input(str(encoders["distilbert"])).run()
    assert not at.error and not at.exception, [e.value for e in at.error]
    assert any(str(encoders["distilbert"].resolve()) in c.value for c in at.caption)


def test_the_default_name_says_which_encoder_was_used(encoders):
    from core.training import TrainSettings

    mine = TrainSettings(dataset="movie-snippets", architecture="minilm", method="vmask",
                         encoder=str(encoders["bert"])).resolved()
    packaged = TrainSettings(dataset="movie-snippets", architecture="minilm", method="vmask").resolved()
    assert mine.name == f"{encoders['bert'].name}-vmask-movie-snippets"
    assert packaged.name == "minilm-vmask-movie-snippets-user"  # the shipped model has the plain name
