"""Tokenizers turning texts into padded id batches with a word alignment.

Every tokenizer returns an :class:`EncodedBatch` whose ``word_ids`` says which
of the text's words (see :func:`core.data.text.split_words`) each position
holds, so explanations computed per position can always be shown per word.
Word-level models (CNN, LSTM) have one position per word; wordpiece models
(MiniLM) have several pieces per word plus ``[CLS]``/``[SEP]``.
"""

from __future__ import annotations

import bisect
import itertools
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

    def split(self, text: str) -> list[str]:
        """The words of a raw text: :func:`split_words`."""
        return split_words(text)

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


WORD_RULES = ("clean", "raw")


class SubwordTokenizer:
    """Any Hugging Face fast tokenizer (WordPiece, byte-level BPE, SentencePiece) fed with words.

    How words are formed (``words``):

    - ``"clean"``: :func:`split_words` (lowercased, Kim's cleaning), what every MaskLens-trained
      model reads;
    - ``"raw"``: the text's whitespace-separated chunks, case and punctuation kept, for a user's
      own Hugging Face classifier, which then reads exactly the text it was trained on (up to runs
      of whitespace becoming one space).

    The words are joined with single spaces and tokenized as one text (batched), and each piece
    goes to the word its character offsets fall in, so a BPE word after a space gets its
    leading-space pieces (``Ġgood``) and the first word none, as the model saw in training.
    Special tokens come from the tokenizer's own template (``[CLS] x [SEP]``, ``<s> x </s>``,
    ``x <sep> <cls>``) and are never given to a word. ``max_len`` counts pieces including the
    special tokens; a word cut by truncation is dropped whole. A word with no piece at all (a
    character the tokenizer's normaliser removes) gets the unknown token, so every kept word has
    at least one position; a word that is a special token (``<unk>``) gets that token alone.
    """

    kind = "subword"

    def __init__(self, hf_tokenizer, max_len: int = 128, words: str = "clean"):
        if words not in WORD_RULES:
            raise ValueError(f"unknown word rule {words!r}; choose one of {', '.join(WORD_RULES)}")
        if not getattr(hf_tokenizer, "is_fast", False):
            raise ValueError(f"{type(hf_tokenizer).__name__} is not a fast tokenizer: MaskLens aligns pieces to "
                             "words with character offsets, which only fast (Rust) tokenizers give")
        self.hf, self.max_len, self.words = hf_tokenizer, max_len, words
        self.prefix, self.suffix = _special_template(hf_tokenizer)
        if max_len < len(self.prefix) + len(self.suffix) + 1:
            raise ValueError(f"max_len must leave room for the {len(self.prefix) + len(self.suffix)} special "
                             "tokens and one piece")

    @classmethod
    def from_directory(cls, directory, max_len: int = 128, words: str = "clean") -> "SubwordTokenizer":
        """Load a fast tokenizer from a local directory or the local cache (never the network)."""
        from transformers import AutoTokenizer

        return cls(AutoTokenizer.from_pretrained(str(directory), local_files_only=True), max_len, words)

    @property
    def pad_id(self) -> int:
        return self.hf.pad_token_id if self.hf.pad_token_id is not None else self.unk_id

    @property
    def unk_token(self) -> str:
        """The token unknown-word erasure puts in a word's place: the unknown token, else the mask token."""
        token = self.hf.unk_token if self.hf.unk_token is not None else self.hf.mask_token
        if token is None:
            raise ValueError(f"the tokenizer {type(self.hf).__name__} has neither an unknown nor a mask token, "
                             "so a word cannot be replaced by 'unknown'; use zero erasure instead")
        return token

    @property
    def unk_id(self) -> int:
        return self.hf.convert_tokens_to_ids(self.unk_token)

    def split(self, text: str) -> list[str]:
        """The words of a raw text under this tokenizer's word rule."""
        return split_words(text) if self.words == "clean" else text.split()

    def encode(self, texts: Sequence[str]) -> EncodedBatch:
        """Encode raw texts, split into words by :meth:`split`."""
        return self.encode_words([self.split(text) for text in texts])

    def encode_words(self, word_lists: Sequence[Sequence[str]]) -> EncodedBatch:
        """Encode already split words, truncating whole words to fit ``max_len`` pieces."""
        budget = self.max_len - len(self.prefix) - len(self.suffix)
        rows, kept_words, truncated = [], [], []
        for words, word_pieces in zip(word_lists, self.pieces(word_lists)):
            ids, wids = list(self.prefix), [-1] * len(self.prefix)
            n_kept = 0
            for index, piece_ids in enumerate(word_pieces):
                if len(ids) - len(self.prefix) + len(piece_ids) > budget:
                    break
                ids += piece_ids
                wids += [index] * len(piece_ids)
                n_kept += 1
            rows.append((ids + list(self.suffix), wids + [-1] * len(self.suffix)))
            kept_words.append(list(words[:n_kept]))
            truncated.append(n_kept < len(words))
        return _padded(rows, kept_words, truncated, self.pad_id)

    def pieces(self, word_lists: Sequence[Sequence[str]]) -> list[list[list[int]]]:
        """Per text, per word: the piece ids the word gets in the joined text (at least one each)."""
        texts = [" ".join(words) for words in word_lists]
        if not texts:
            return []
        encoded = self.hf(texts, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        unk = self.hf.unk_token_id if self.hf.unk_token_id is not None else self.unk_id
        # a word that is a special token ("<unk>" of unknown-word erasure) is that token alone, without
        # the bare leading-space piece a byte-level BPE would put before it
        specials = dict(zip(self.hf.all_special_tokens, self.hf.all_special_ids))
        out = []
        for words, ids, offsets in zip(word_lists, encoded["input_ids"], encoded["offset_mapping"]):
            # word k covers chars [ends[k] - len(word k), ends[k]); a piece starting in the gap goes to the next word
            ends = [end - 1 for end in itertools.accumulate(len(w) + 1 for w in words)]
            grouped: list[list[int]] = [[] for _ in words]
            for piece, (start, _) in zip(ids, offsets):
                if words:
                    grouped[min(bisect.bisect_right(ends, start), len(words) - 1)].append(piece)
            out.append([[specials[word]] if word in specials else group or [unk]
                        for word, group in zip(words, grouped)])
        return out

    def pieces_of(self, words: Sequence[str], first: bool) -> list[list[int]]:
        """The piece ids of each word put alone in a text, as the first word or after another one.

        A byte-level BPE word gets different pieces after a space; a candidate word swapped into
        a text (input marginalization) takes the pieces of its place.
        """
        if first:
            return [pieces[0] for pieces in self.pieces([[w] for w in words])]
        return [pieces[1] for pieces in self.pieces([[_ANCHOR, w] for w in words])]


_ANCHOR = "a"  # any plain word: pieces never cross a space, so what comes after it is a word after a space


def _special_template(hf_tokenizer) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(prefix, suffix): the special token ids the tokenizer puts around one text's pieces."""
    content = hf_tokenizer(_ANCHOR, add_special_tokens=False)["input_ids"]
    full = hf_tokenizer(_ANCHOR, add_special_tokens=True)["input_ids"]
    at = next((i for i in range(len(full) - len(content) + 1) if full[i: i + len(content)] == content), None)
    if not content or at is None:
        raise ValueError(f"cannot tell where {type(hf_tokenizer).__name__} puts its special tokens")
    return tuple(full[:at]), tuple(full[at + len(content):])


def _padded(rows: list[tuple[list[int], list[int]]], words: list[list[str]], truncated: list[bool],
            pad_id: int) -> EncodedBatch:
    """Right-padded :class:`EncodedBatch` of unpadded (ids, word ids) rows."""
    length = max(len(ids) for ids, _ in rows) if rows else 2
    input_ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    word_ids = torch.full((len(rows), length), -1, dtype=torch.long)
    attention = torch.zeros(len(rows), length, dtype=torch.bool)
    for row, (ids, wids) in enumerate(rows):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        word_ids[row, : len(wids)] = torch.tensor(wids, dtype=torch.long)
        attention[row, : len(ids)] = True
    return EncodedBatch(input_ids, attention, word_ids, words, truncated)


class WordPieceTokenizer(SubwordTokenizer):
    """The MaskLens-trained transformers' tokenizer: :class:`SubwordTokenizer` on :func:`split_words` words.

    For a WordPiece vocabulary (the packaged MiniLM) the pieces equal those of each word
    tokenized on its own, which is what the marginalization shortcut relies on.
    """

    kind = "wordpiece"

    def __init__(self, hf_tokenizer, max_len: int = 128):
        super().__init__(hf_tokenizer, max_len, words="clean")

    @classmethod
    def from_directory(cls, directory, max_len: int = 128) -> "WordPieceTokenizer":
        """Load a fast tokenizer from a local directory (never the network)."""
        from transformers import AutoTokenizer

        return cls(AutoTokenizer.from_pretrained(str(directory), local_files_only=True), max_len)
