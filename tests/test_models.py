"""The classifier contract: padding never changes a prediction, embeddings path equals ids path."""

import pytest
import torch

from core.data.tokenizers import Vocab, WordTokenizer
from core.models.factory import build_classifier

WORDS = "the movie was great awful plot boring acting superb a".split()
TINY_BERT = {"encoder": {"bert_config": {"vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2,
                                         "num_attention_heads": 2, "intermediate_size": 64}, "seed": 0},
             "max_len": 32, "dropout": 0.2}


def word_model(architecture, mask_kind):
    config = {"vocab": Vocab.build([WORDS]).words, "max_len": 20, "embedding_seed": 0, "dropout": 0.2,
              "filter_sizes": [3, 4, 5], "num_filters": 8, "hidden_dim": 8}
    if architecture == "lstm":
        del config["filter_sizes"], config["num_filters"]
    else:
        del config["hidden_dim"]
    torch.manual_seed(0)
    mask = {"kind": mask_kind} if mask_kind == "none" else {"kind": mask_kind, "hidden_dim": 4}
    model = build_classifier(architecture, config, mask, num_classes=3).eval()
    return model, WordTokenizer(Vocab(config["vocab"]), max_len=20, min_len=max(config.get("filter_sizes", [1])))


@pytest.mark.parametrize("architecture", ["cnn", "lstm"])
@pytest.mark.parametrize("mask_kind", ["none", "vmask", "iba", "l2x"])
def test_padding_does_not_change_predictions(architecture, mask_kind):
    model, tok = word_model(architecture, mask_kind)
    texts = ["great", "the movie was great", "the plot was boring and the acting awful " * 2]
    with torch.no_grad():
        together = model.classify(tok.encode(texts)).logits
        alone = torch.cat([model.classify(tok.encode([t])).logits for t in texts])
    assert torch.allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize("architecture", ["cnn", "lstm"])
def test_embedding_path_equals_id_path(architecture):
    model, tok = word_model(architecture, "vmask")
    batch = tok.encode(["the movie was great", "awful"])
    with torch.no_grad():
        by_ids = model(batch.input_ids, batch.attention_mask).logits
        by_emb = model.forward_embeddings(model.embed(batch.input_ids), batch.attention_mask).logits
        rep = model.represent(model.embed(batch.input_ids), batch.attention_mask)
    assert torch.allclose(by_ids, by_emb)
    assert rep.shape[0] == 2 and rep.ndim == 2


def test_word_models_freeze_the_embedding_table():
    model, _ = word_model("cnn", "vmask")
    assert not model.embedding.weight.requires_grad
    assert model.frozen_parameter_names() == ["embedding.weight"]
    assert torch.all(model.embedding.weight[0] == 0)  # padding row


def test_minilm_contract_with_a_tiny_random_bert():
    from core.data.pretrained import minilm_dir
    from core.data.tokenizers import WordPieceTokenizer

    torch.manual_seed(0)
    model = build_classifier("minilm", TINY_BERT, {"kind": "vmask", "hidden_dim": 8}, num_classes=2).eval()
    tok = WordPieceTokenizer.from_directory(minilm_dir(), max_len=32)
    texts = ["a superb film", "the plot was unbelievably boring and the acting awful"]
    with torch.no_grad():
        together = model.classify(tok.encode(texts))
        alone = torch.cat([model.classify(tok.encode([t])).logits for t in texts])
    assert torch.allclose(together.logits, alone, atol=1e-5)
    assert not model.encoder.get_input_embeddings().weight.requires_grad
    batch = tok.encode(texts)
    special = ~batch.token_mask & batch.attention_mask
    assert torch.all(together.mask.importance[special] == 0)  # [CLS]/[SEP] are never masked


@pytest.mark.parametrize("architecture", ["cnn", "lstm"])
@pytest.mark.parametrize("mask_kind", ["none", "vmask", "iba", "l2x"])
@pytest.mark.parametrize("text", ["great", "the movie was great", "the plot was boring and the acting awful " * 2])
def test_substitution_logits_equal_building_every_variant(architecture, mask_kind, text):
    model, tok = word_model(architecture, mask_kind)
    batch = tok.encode([text])
    n_words = len(batch.words[0])
    positions = torch.arange(n_words).repeat_interleave(len(tok.vocab))
    replacements = torch.arange(len(tok.vocab)).repeat(n_words)
    with torch.no_grad():
        fast = model.substitution_logits(batch.input_ids, batch.attention_mask, positions, replacements, 7)
        ids = batch.input_ids.repeat(len(positions), 1)
        ids[torch.arange(len(positions)), positions] = replacements
        brute = model(ids, batch.attention_mask.expand(len(positions), -1)).logits
    assert torch.allclose(fast, brute, atol=1e-5)
    shuffled = torch.randperm(len(positions), generator=torch.Generator().manual_seed(0))  # any order of swaps
    with torch.no_grad():
        again = model.substitution_logits(batch.input_ids, batch.attention_mask, positions[shuffled],
                                          replacements[shuffled], 5)
    assert torch.allclose(again, brute[shuffled], atol=1e-5)
