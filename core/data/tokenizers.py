"""Tokenizers turning texts into padded id batches with a word alignment.

Every tokenizer returns an :class:`EncodedBatch` whose ``word_ids`` says which
of the text's words (see :func:`core.data.text.split_words`) each position
holds, so explanations computed per position can always be shown per word.
Word-level models (CNN, LSTM) have one position per word; wordpiece models
(MiniLM) have several pieces per word plus ``[CLS]``/``[SEP]``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import torch

from core.data.text import split_words

PAD, UNK = "<pad>", "<unk>"


@dataclass
class EncodedBatch:
    """A padded batch.

    Attributes:
        input_ids: [B, T] long token ids.
        attention_mask: [B, T] bool, True at every real position (words and special tokens).
        word_ids: [B, T] long, index into ``words[b]`` of the word a position
            belongs to, -1 for padding and special tokens.
        words: per example, the words that fit (after truncation).
        truncated: per example, True when words were cut to fit ``max_len``.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    word_ids: torch.Tensor
    words: list[list[str]]
    truncated: list[bool] = field(default_factory=list)

    @property
    def token_mask(self) -> torch.Tensor:
        """[B, T] bool, True at positions that hold (part of) a word: where masks apply."""
        return self.word_ids >= 0

    def to(self, device: torch.device | str) -> "EncodedBatch":
        """This batch with its tensors on ``device``."""
        return EncodedBatch(self.input_ids.to(device), self.attention_mask.to(device), self.word_ids.to(device),
                            self.words, self.truncated)


class Vocab:
    """Word <-> id mapping; id 0 is padding, id 1 the unknown word."""

    def __init__(self, words: Sequence[str]):
        if list(words[:2]) != [PAD, UNK]:
            raise ValueError(f"a vocab must start with {PAD!r}, {UNK!r}")
        if len(set(words)) != len(words):
            raise ValueError("vocab words must be unique")
        self.words = list(words)
        self.index = {word: i for i, word in enumerate(self.words)}

    @classmethod
    def build(cls, word_lists: Iterable[Sequence[str]], min_freq: int = 1) -> "Vocab":
        """Vocab of every word seen at least ``min_freq`` times, most frequent first (ties alphabetical)."""
        counts = Counter(word for words in word_lists for word in words)
        kept = sorted((w for w, c in counts.items() if c >= min_freq and w not in (PAD, UNK)),
                      key=lambda w: (-counts[w], w))
        return cls([PAD, UNK, *kept])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def encode(self, words: Sequence[str]) -> list[int]:
        """Ids of ``words``; unknown words map to id 1."""
        return [self.index.get(word, 1) for word in words]


class WordTokenizer:
    """One position per word, ids from a :class:`Vocab`, padded with id 0.

    Args:
        vocab: the word vocabulary.
        max_len: longest sequence in words; longer texts are truncated.
        min_len: shortest padded length (a CNN needs at least its widest filter).
    """

    kind = "word"

    def __init__(self, vocab: Vocab, max_len: int, min_len: int = 1):
        if max_len < 1:
            raise ValueError("max_len must be at least 1")
        self.vocab, self.max_len, self.min_len = vocab, max_len, min_len

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def unk_id(self) -> int:
        return 1

    def encode(self, texts: Sequence[str]) -> EncodedBatch:
        """Encode raw texts (cleaned and split with :func:`split_words`)."""
        return self.encode_words([split_words(text) for text in texts])

    def encode_words(self, word_lists: Sequence[Sequence[str]]) -> EncodedBatch:
        """Encode already split words; an empty list gives an all-padding row."""
        kept = [list(words[: self.max_len]) for words in word_lists]
        length = max([self.min_len, *(len(words) for words in kept)])
        input_ids = torch.zeros(len(kept), length, dtype=torch.long)
        word_ids = torch.full((len(kept), length), -1, dtype=torch.long)
        for row, words in enumerate(kept):
            input_ids[row, : len(words)] = torch.tensor(self.vocab.encode(words), dtype=torch.long)
            word_ids[row, : len(words)] = torch.arange(len(words))
        truncated = [len(words) > self.max_len for words in word_lists]
        return EncodedBatch(input_ids, word_ids >= 0, word_ids, kept, truncated)


class WordPieceTokenizer:
    """A Hugging Face wordpiece tokenizer fed with MaskLens words.

    Words come from :func:`split_words` and are passed with
    ``is_split_into_words=True``, so the tokenizer's own ``word_ids`` align
    pieces to exactly those words. ``max_len`` counts pieces including
    ``[CLS]`` and ``[SEP]``; a word cut in the middle by truncation is dropped
    whole so that every kept word has all its pieces.
    """

    kind = "wordpiece"

    def __init__(self, hf_tokenizer, max_len: int = 128):
        if max_len < 3:
            raise ValueError("max_len must leave room for [CLS], one piece and [SEP]")
        self.hf, self.max_len = hf_tokenizer, max_len

    @classmethod
    def from_directory(cls, directory, max_len: int = 128) -> "WordPieceTokenizer":
        """Load a fast tokenizer from a local directory (never the network)."""
        from transformers import AutoTokenizer

        return cls(AutoTokenizer.from_pretrained(str(directory), local_files_only=True), max_len)

    @property
    def pad_id(self) -> int:
        return self.hf.pad_token_id

    @property
    def unk_id(self) -> int:
        return self.hf.unk_token_id

    def encode(self, texts: Sequence[str]) -> EncodedBatch:
        """Encode raw texts (cleaned and split with :func:`split_words`)."""
        return self.encode_words([split_words(text) for text in texts])

    def encode_words(self, word_lists: Sequence[Sequence[str]]) -> EncodedBatch:
        """Encode already split words, truncating whole words to fit ``max_len`` pieces."""
        pieces = [[self.hf.tokenize(word) or [self.hf.unk_token] for word in words] for words in word_lists]
        budget = self.max_len - 2
        rows, kept_words, truncated = [], [], []
        for words, word_pieces in zip(word_lists, pieces):
            ids, wids, used = [self.hf.cls_token_id], [-1], 0
            n_kept = 0
            for index, piece_list in enumerate(word_pieces):
                if used + len(piece_list) > budget:
                    break
                ids += self.hf.convert_tokens_to_ids(piece_list)
                wids += [index] * len(piece_list)
                used += len(piece_list)
                n_kept += 1
            rows.append((ids + [self.hf.sep_token_id], wids + [-1]))
            kept_words.append(list(words[:n_kept]))
            truncated.append(n_kept < len(words))
        length = max(len(ids) for ids, _ in rows) if rows else 2
        input_ids = torch.full((len(rows), length), self.pad_id, dtype=torch.long)
        word_ids = torch.full((len(rows), length), -1, dtype=torch.long)
        attention = torch.zeros(len(rows), length, dtype=torch.bool)
        for row, (ids, wids) in enumerate(rows):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            word_ids[row, : len(wids)] = torch.tensor(wids)
            attention[row, : len(ids)] = True
        return EncodedBatch(input_ids, attention, word_ids, kept_words, truncated)
