"""Likelihood models: masked-LM plumbing on a tiny random BERT, the uniform/unigram priors, the shipped MLM."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from core.data.pretrained import minilm_dir
from core.data.text import split_words
from core.lm import priors
from core.lm.mlm import MaskedLMLikelihood, MLMNotAvailableError, _window, load_likelihood
from core.lm.train_mlm import split_probe

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
SENTENCE = "the movie was heartwarming and good , but the ending felt rushed !"


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer BertForMaskedLM (hidden 32) with the packaged wordpiece tokenizer."""
    from transformers import BertConfig, BertForMaskedLM

    directory = tmp_path_factory.mktemp("tiny_mlm")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertForMaskedLM(config).save_pretrained(directory)
    for name in TOKENIZER_FILES:
        if (minilm_dir() / name).is_file():
            shutil.copy(minilm_dir() / name, directory / name)
    return directory


@pytest.fixture(scope="module")
def tiny(tiny_dir: Path) -> MaskedLMLikelihood:
    return MaskedLMLikelihood.from_pretrained(tiny_dir, device="cpu")


def test_vocabulary_is_whole_masklens_words(tiny: MaskedLMLikelihood) -> None:
    vocab = tiny.vocabulary
    assert len(vocab) == len(set(vocab)) > 20000
    special = set(tiny.tokenizer.all_special_tokens)
    assert not [w for w in vocab if w.startswith("##") or w in special]
    assert all(split_words(w) == [w] for w in vocab)
    assert {"good", "movie", ",", "!", "?"} <= set(vocab)
    assert not {".", "[unused3]", "[MASK]", "[CLS]", "##ing"} & set(vocab)


def test_distribution_shape_and_range(tiny: MaskedLMLikelihood) -> None:
    words = split_words(SENTENCE)
    dist = tiny.distribution(words, range(len(words)))
    assert dist.shape == (len(words), len(tiny.vocabulary))
    assert dist.dtype in (np.float32, np.float64)
    assert (dist >= 0).all()
    assert (dist.sum(axis=1) <= 1 + 1e-5).all()
    assert tiny.distribution(words, []).shape == (0, len(tiny.vocabulary))
    with pytest.raises(IndexError):
        tiny.distribution(words, [len(words)])


def test_distribution_matches_hand_computation(tiny: MaskedLMLikelihood) -> None:
    words = split_words(SENTENCE)
    position = 3  # "heartwarming": several word pieces, replaced by ONE mask token
    tok = tiny.tokenizer
    assert len(tok.tokenize(words[position])) > 1
    left = [t for w in words[:position] for t in tok.tokenize(w)]
    right = [t for w in words[position + 1:] for t in tok.tokenize(w)]
    tokens = ["[CLS]"] + left + ["[MASK]"] + right + ["[SEP]"]
    ids = torch.tensor([tok.convert_tokens_to_ids(tokens)])
    with torch.no_grad():
        logits = tiny.model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, len(left) + 1]
    probs = torch.softmax(logits, dim=-1).numpy()
    expected = probs[tok.convert_tokens_to_ids(tiny.vocabulary)]
    got = tiny.distribution(words, [position])[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)
    assert got.sum() < probs.sum()  # mass on pieces/special tokens is dropped, not redistributed


def test_batched_equals_per_position_and_chunking(tiny_dir: Path, tiny: MaskedLMLikelihood) -> None:
    words = split_words(SENTENCE)
    positions = [5, 0, len(words) - 1, 2]
    batched = tiny.distribution(words, positions)
    single = np.stack([tiny.distribution(words, [p])[0] for p in positions])
    np.testing.assert_allclose(batched, single, rtol=1e-4, atol=1e-7)
    small_batches = MaskedLMLikelihood(tiny.model, tiny.tokenizer, device="cpu", batch_size=3)
    np.testing.assert_allclose(small_batches.distribution(words, positions), batched, rtol=1e-4, atol=1e-7)


def test_distribution_many_equals_one_text_at_a_time(tiny: MaskedLMLikelihood) -> None:
    first, second = split_words(SENTENCE), split_words("a dull , lifeless film")
    requests = [(first, 1), (second, 0), (first, 3), (second, 4)]
    many = tiny.distribution_many(requests)
    single = np.stack([tiny.distribution(words, [position])[0] for words, position in requests])
    np.testing.assert_allclose(many, single, rtol=1e-4, atol=1e-7)
    assert tiny.distribution_many([]).shape == (0, len(tiny.vocabulary))
    with pytest.raises(IndexError):
        tiny.distribution_many([(second, 9)])


def test_long_text_keeps_a_window_around_the_mask(tiny: MaskedLMLikelihood) -> None:
    short = MaskedLMLikelihood(tiny.model, tiny.tokenizer, device="cpu", max_length=12)
    words = [f"w{i}" for i in range(40)]  # "w12" -> 2+ pieces each
    sequences, mask_at = short._sequences(words, [0, 20, 39])
    assert all(len(s) <= 12 for s in sequences)
    assert [s[m] for s, m in zip(sequences, mask_at)] == [tiny.tokenizer.mask_token_id] * 3
    middle, at = sequences[1], mask_at[1]
    assert abs((at - 1) - (len(middle) - 2 - at)) <= 2  # about as much context left as right
    assert short.distribution(words, [0, 20, 39]).shape == (3, len(tiny.vocabulary))
    # the model's own limit (64 positions here) is respected without being asked
    assert tiny.max_length == 64
    assert tiny.distribution(words * 3, [60]).shape == (1, len(tiny.vocabulary))
    pieces = [[1, 2]] * 10
    assert _window(pieces, 5, 8) == (3, 8)
    assert _window(pieces, 0, 8) == (0, 5)


def test_uniform_rows() -> None:
    model = priors.UniformLikelihood(["a", "b", "c", "d"])
    dist = model.distribution(["x", "y", "z"], [0, 2])
    assert dist.shape == (2, 4)
    np.testing.assert_allclose(dist, 0.25)
    assert model.name == "uniform"


def test_unigram_equals_counts_over_total() -> None:
    texts = ["the cat sat", "the dog sat !", "The CAT"]
    model = priors.UnigramLikelihood.from_texts(texts)
    counts = {"the": 3, "cat": 2, "sat": 2, "dog": 1, "!": 1}
    assert model.total == 9
    assert model.vocabulary == ["the", "cat", "sat", "!", "dog"]  # by count, ties alphabetical
    dist = model.distribution(["a", "b"], [1, 0])
    np.testing.assert_allclose(dist, [[counts[w] / 9 for w in model.vocabulary]] * 2, rtol=1e-6)
    pruned = priors.UnigramLikelihood.from_texts(texts, min_count=2)
    assert pruned.vocabulary == ["the", "cat", "sat"]
    assert pruned.distribution(["a"], [0]).sum() == pytest.approx(7 / 9)


def test_load_likelihood_priors() -> None:
    unigram = load_likelihood("unigram", dataset="trec6")
    assert isinstance(unigram, priors.UnigramLikelihood)
    assert unigram.distribution(["what", "is"], [0]).sum() == pytest.approx(1.0, abs=1e-5)
    uniform = load_likelihood("uniform", dataset="trec6")
    assert uniform.vocabulary == unigram.vocabulary
    with pytest.raises(ValueError, match="dataset"):
        load_likelihood("unigram")


def test_hub_name_not_cached_gives_clear_error_without_network(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))

    def no_network(*args, **kwargs):
        raise AssertionError("tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(MLMNotAvailableError, match="download it first"):
        MaskedLMLikelihood.from_pretrained("some-org/no-such-masked-lm", device="cpu")
    with pytest.raises(MLMNotAvailableError, match="download it first"):
        load_likelihood("distilbert-base-uncased")


def test_encoder_without_mlm_head_is_refused() -> None:
    # the packaged MiniLM is a BertModel: loading it as a masked LM would give a random head
    with pytest.raises(MLMNotAvailableError, match="no trained masked-LM head"):
        MaskedLMLikelihood.from_pretrained(minilm_dir(), device="cpu")


def test_split_probe_and_cli(tiny_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert split_probe("The movie was [MASK].") == (["the", "movie", "was", "[MASK]"], 3)
    with pytest.raises(ValueError):
        split_probe("no mask here")
    from core.lm.__main__ import main

    assert main(["probe", "a [MASK] film !", "--model", str(tiny_dir), "-k", "3", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "a [MASK] film !" and len(lines) == 4


def test_shipped_default_mlm() -> None:
    from core.lm import train_mlm

    directory = train_mlm.DEFAULT_DIR
    if not (directory / "model.safetensors").is_file():
        pytest.fail(f"the shipped MLM is missing: rebuild it with `python -m core.lm train` ({directory})")
    model = MaskedLMLikelihood.default(device="cpu")  # checks every rebuilt parameter's fingerprint
    config = json.loads((directory / "config.json").read_text())
    trained = set(config["trained_parameters"])
    assert train_mlm.frozen_fingerprints(model.model, trained) == config["frozen_fingerprints"]
    assert "bert.embeddings.word_embeddings.weight" in config["frozen_fingerprints"]
    assert (directory / "model.safetensors").stat().st_size <= 25_000_000
    words, position = split_probe("the movie was [MASK] .")
    row = model.distribution(words, [position])[0]
    assert row.sum() <= 1 + 1e-5
    top = [model.vocabulary[j] for j in np.argsort(-row)[:5]]
    assert all(w.isalpha() for w in top)
    plausible = {"good", "great", "bad", "funny", "boring", "terrible", "excellent", "fun", "awful", "brilliant",
                 "wonderful", "fine", "interesting", "beautiful", "amazing", "entertaining", "dull", "not", "so",
                 "very", "really", "too", "released", "made", "over", "long", "well", "better", "worse", "ok"}
    assert plausible & set(top), top
