"""Text cleaning and tokenizers on tricky input: unicode, emoji, empty, very long."""

import pytest
import torch

from core.data.pretrained import minilm_dir
from core.data.text import clean_text, split_words
from core.data.tokenizers import PAD, UNK, Vocab, WordPieceTokenizer, WordTokenizer


@pytest.mark.parametrize("text, words", [
    ("Don't stop!", ["do", "n't", "stop", "!"]),
    ("It’s GREAT, really?", ["it", "'s", "great", ",", "really", "?"]),
    ("café Ünïcödé", ["café", "ünïcödé"]),
    ("good 😀👍 movie", ["good", "movie"]),
    ("'quoted' (words)", ["quoted", "(", "words", ")"]),
    ("snake_case well-made", ["snake", "case", "well", "made"]),
    ("", []),
    ("   \n\t ", []),
    ("😀🎬", []),
    ("...", []),
])
def test_split_words(text, words):
    assert split_words(text) == words


def test_clean_text_rejects_non_strings():
    with pytest.raises(TypeError):
        clean_text(None)


def test_vocab_orders_by_frequency_and_applies_min_freq():
    vocab = Vocab.build([["b", "a", "b"], ["c", "b", "a"]], min_freq=2)
    assert vocab.words == [PAD, UNK, "b", "a"]
    assert vocab.encode(["a", "zzz"]) == [3, 1]
    with pytest.raises(ValueError):
        Vocab(["a", "b"])


def test_word_tokenizer_pads_truncates_and_aligns():
    tok = WordTokenizer(Vocab.build([["a", "b", "c"]]), max_len=3, min_len=5)
    batch = tok.encode(["a b zz c", "", "c"])
    assert batch.input_ids.shape == (3, 5)
    assert batch.words == [["a", "b", "zz"], [], ["c"]]
    assert batch.truncated == [True, False, False]
    assert batch.input_ids[0, :3].tolist() == [2, 3, 1]
    assert batch.word_ids[0].tolist() == [0, 1, 2, -1, -1]
    assert not batch.attention_mask[1].any()
    assert torch.equal(batch.token_mask, batch.attention_mask)


def test_word_tokenizer_very_long_text_is_truncated():
    tok = WordTokenizer(Vocab.build([["w"]]), max_len=50)
    batch = tok.encode(["w " * 100_000])
    assert batch.input_ids.shape == (1, 50) and batch.truncated == [True]


@pytest.fixture(scope="module")
def wordpiece():
    return WordPieceTokenizer.from_directory(minilm_dir(), max_len=12)


def test_wordpiece_alignment_is_exact(wordpiece):
    batch = wordpiece.encode(["Unbelievably good café 😀"])
    words = batch.words[0]
    assert words == ["unbelievably", "good", "café"]
    ids, wids = batch.input_ids[0].tolist(), batch.word_ids[0].tolist()
    assert ids[0] == wordpiece.hf.cls_token_id and wids[0] == -1
    for index, word in enumerate(words):
        pieces = [ids[p] for p, w in enumerate(wids) if w == index]
        assert wordpiece.hf.convert_ids_to_tokens(pieces) == wordpiece.hf.tokenize(word)
    assert batch.token_mask.sum() == sum(len(wordpiece.hf.tokenize(w)) for w in words)


def test_wordpiece_truncates_whole_words_and_handles_empty(wordpiece):
    batch = wordpiece.encode(["unbelievably " * 10, ""])
    assert batch.input_ids.shape[1] <= 12
    assert batch.truncated == [True, False]
    kept = batch.words[0]
    assert len(kept) >= 1 and all(w == "unbelievably" for w in kept)
    assert batch.word_ids[0].max() == len(kept) - 1
    assert batch.words[1] == [] and batch.attention_mask[1].sum() == 2
