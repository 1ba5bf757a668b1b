"""Masked-language-model likelihoods p(word | text without word i).

:class:`MaskedLMLikelihood` wraps any Hugging Face masked LM (a model that
``AutoModelForMaskedLM`` loads, with its tokenizer) or the MLM shipped in
``assets/mlm/`` (the packaged MiniLM encoder with a fine-tuned head, see
:mod:`core.lm.train_mlm`). To score position ``i`` it replaces ``words[i]`` by
ONE mask token, tokenizes the other words into pieces, runs the model and takes
the softmax over the full token vocabulary at the mask; the columns of the
tokens that are whole MaskLens words are returned (mass on word pieces,
special tokens and punctuation MaskLens drops is not redistributed, so rows
sum to at most 1). All positions of a text go through one batched forward.

Nothing is downloaded unless ``allow_download=True`` is passed explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from safetensors import SafetensorError

from core.data.text import split_words
from core.device import pick_device
from core.lm.base import LikelihoodModel
from core.lm.checkpoint import DEFAULT_DIR, is_mlm_checkpoint, load_shipped
from core.progress import heartbeat

# Same policy as core.data.pretrained: Hugging Face loaders never reach the hub by themselves.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

__all__ = ["MaskedLMLikelihood", "MLMNotAvailableError", "load_likelihood", "whole_word_vocabulary", "word_pieces"]

# Word-start markers of byte-level BPE (RoBERTa, GPT-2) and SentencePiece (ALBERT, XLM-R) vocabularies.
_BPE_MARK, _SP_MARK = "\u0120", "\u2581"


class MLMNotAvailableError(ValueError):
    """A masked LM cannot be loaded (not a local directory and not in the local Hugging Face cache)."""


def _piece_style(vocab: dict[str, int]) -> str:
    """``wordpiece`` (``##`` continuations), ``bpe`` (``Ġ`` word starts) or ``sentencepiece`` (``▁`` word starts)."""
    tokens = list(vocab)
    counts = {"wordpiece": sum(t.startswith("##") for t in tokens),
              "bpe": sum(t.startswith(_BPE_MARK) for t in tokens),
              "sentencepiece": sum(t.startswith(_SP_MARK) for t in tokens)}
    style = max(counts, key=counts.get)
    return style if counts[style] > 0 else "wordpiece"


def whole_word_vocabulary(tokenizer: Any) -> tuple[list[str], list[int]]:
    """The tokens of ``tokenizer`` that are whole MaskLens words.

    A token qualifies when it is not a special token, not a continuation piece
    (``##ing``; for BPE/SentencePiece vocabularies: a token without the
    word-start marker), and :func:`split_words` leaves it as exactly one word
    equal to itself (so ``","`` and ``"!"`` qualify, ``"."``, ``"[unused3]"``
    and cased ``"The"`` do not).

    Returns:
        (words, token ids), in token-id order; each word appears once.
    """
    vocab = tokenizer.get_vocab()
    style = _piece_style(vocab)
    special = set(tokenizer.all_special_tokens)
    words, ids, seen = [], [], set()
    for token, token_id in sorted(vocab.items(), key=lambda item: item[1]):
        if token in special:
            continue
        if style == "wordpiece":
            if token.startswith("##"):
                continue
            word = token
        else:
            mark = _BPE_MARK if style == "bpe" else _SP_MARK
            if not token.startswith(mark):
                continue
            word = token[len(mark):]
        if not word or word in seen or split_words(word) != [word]:
            continue
        seen.add(word)
        words.append(word)
        ids.append(token_id)
    return words, ids


def word_pieces(tokenizer: Any, words: Sequence[str], style: str = "wordpiece") -> list[list[int]]:
    """Token ids of each word, tokenized on its own (an unknown word gets the unknown token)."""
    unk = tokenizer.unk_token_id
    out = []
    for word in words:
        text = " " + word if style == "bpe" else word
        ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text)) if word else []
        if not ids and unk is not None:
            ids = [unk]
        out.append(list(ids))
    return out


def _window(pieces: list[list[int]], i: int, budget: int) -> tuple[int, int]:
    """Whole words [lo, hi) around word ``i`` (excluded from the count) whose pieces fit ``budget``.

    Words are added alternately on the left and the right, nearest first, so a
    long text keeps a centred window of context.
    """
    lo, hi, used = i, i + 1, 0
    left_open = right_open = True
    while left_open or right_open:
        if left_open:
            if lo > 0 and used + len(pieces[lo - 1]) <= budget:
                lo -= 1
                used += len(pieces[lo])
            else:
                left_open = False
        if right_open:
            if hi < len(pieces) and used + len(pieces[hi]) <= budget:
                used += len(pieces[hi])
                hi += 1
            else:
                right_open = False
    return lo, hi


class MaskedLMLikelihood(LikelihoodModel):
    """p(word | x_-i) from a masked language model, over its whole-word tokens.

    Args:
        model: a Hugging Face masked LM (``BertForMaskedLM`` or any
            ``AutoModelForMaskedLM`` model).
        tokenizer: its tokenizer (needs a mask token).
        name: name shown to users.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...
        max_length: most tokens per sequence, special tokens included;
            default the model's position limit (at most 512). Longer texts keep a
            window of whole words centred on the masked word.
        batch_size: sequences per forward pass (one per position).
        info: extra description (e.g. the shipped model's metrics).
    """

    def __init__(self, model: Any, tokenizer: Any, name: str = "mlm", device: str | torch.device | None = "auto",
                 max_length: int | None = None, batch_size: int = 64, info: dict[str, Any] | None = None):
        if tokenizer.mask_token_id is None:
            raise ValueError(f"{name}: the tokenizer has no mask token, so it is not a masked language model")
        self.name = name
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.info = dict(info or {})
        self.batch_size = max(1, int(batch_size))
        self._style = _piece_style(tokenizer.get_vocab())
        self.vocabulary, ids = whole_word_vocabulary(tokenizer)
        if not self.vocabulary:
            raise ValueError(f"{name}: the tokenizer has no whole-word tokens MaskLens can use")
        self._vocab_ids = torch.tensor(ids, dtype=torch.long, device=self.device)
        self._prefix = [t for t in (tokenizer.cls_token_id if tokenizer.cls_token_id is not None
                                    else tokenizer.bos_token_id,) if t is not None]
        self._suffix = [t for t in (tokenizer.sep_token_id if tokenizer.sep_token_id is not None
                                    else tokenizer.eos_token_id,) if t is not None]
        limit = int(getattr(model.config, "max_position_embeddings", 512) or 512)
        if getattr(model.config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            limit -= 2  # RoBERTa-style position ids start after the padding index
        limit = min(limit, 512)
        self.max_length = min(int(max_length), limit) if max_length else limit
        if self.max_length < len(self._prefix) + len(self._suffix) + 1:
            raise ValueError("max_length leaves no room for the mask token")
        pad = tokenizer.pad_token_id
        self._pad = pad if pad is not None else 0

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, device: str | torch.device | None = "auto",
                        allow_download: bool = False, **kwargs: Any) -> "MaskedLMLikelihood":
        """Load a masked LM from a local directory or a Hugging Face hub name.

        A MaskLens MLM checkpoint directory (like ``assets/mlm``) is recognised
        and rebuilt from the packaged encoder. Anything else goes through
        ``AutoModelForMaskedLM``/``AutoTokenizer`` with ``local_files_only``
        unless ``allow_download`` is true.

        Raises:
            MLMNotAvailableError: the name is not a local directory and is not
                in the local Hugging Face cache (and downloading was not allowed).
        """
        path = Path(name_or_path).expanduser()
        if path.is_dir() and is_mlm_checkpoint(path):
            model, tokenizer, config = load_shipped(path)
            return cls(model, tokenizer, name=str(name_or_path), device=device, info=config, **kwargs)
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        local = path.is_dir()
        source = str(path) if local else str(name_or_path)
        if not local and path.exists():
            raise MLMNotAvailableError(f"{name_or_path}: not a directory; give a masked LM directory or a hub name")
        offline = not allow_download
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=offline)
            model, loading = AutoModelForMaskedLM.from_pretrained(source, local_files_only=offline,
                                                                  output_loading_info=True)
        except (OSError, ValueError, RuntimeError, SafetensorError) as err:  # a garbage weights file: SafetensorError
            if local:
                raise MLMNotAvailableError(f"{source}: cannot load a masked language model from this directory "
                                           f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"
                                           ) from err
            hint = ("it is not in the local Hugging Face cache; download it first (e.g. "
                    f"`huggingface-cli download {name_or_path}` on a machine with network access, or "
                    "allow_download=True) or give the path of a local model directory") if offline else \
                f"download failed ({type(err).__name__})"
            raise MLMNotAvailableError(f"masked LM {name_or_path!r} is not available: {hint}") from err
        missing = [key for key in loading.get("missing_keys", ()) if not key.endswith(("position_ids",
                                                                                   "token_type_ids"))]
        if missing:
            raise MLMNotAvailableError(f"{name_or_path}: the checkpoint has no trained masked-LM head (missing "
                                       f"{', '.join(sorted(missing)[:3])}); an encoder without its MLM head "
                                       "would give random likelihoods")
        return cls(model, tokenizer, name=str(name_or_path), device=device, **kwargs)

    @classmethod
    def default(cls, device: str | torch.device | None = "auto", **kwargs: Any) -> "MaskedLMLikelihood":
        """The MLM shipped in ``assets/mlm/`` (packaged MiniLM encoder + head fine-tuned on bundled train splits)."""
        model, tokenizer, config = load_shipped(DEFAULT_DIR)
        return cls(model, tokenizer, name="mlm", device=device, info=config, **kwargs)

    # ------------------------------------------------------------------ scoring

    def _sequences(self, words: Sequence[str], positions: Sequence[int],
                   pieces: list[list[int]] | None = None) -> tuple[list[list[int]], list[int]]:
        """Per position, the masked sequence's ids and where its mask token stands (``pieces``: the
        words' own pieces, when the caller already has them)."""
        pieces = word_pieces(self.tokenizer, words, self._style) if pieces is None else pieces
        budget = self.max_length - len(self._prefix) - len(self._suffix) - 1
        mask = self.tokenizer.mask_token_id
        sequences, mask_at = [], []
        for i in positions:
            lo, hi = _window(pieces, i, budget)
            left = [t for p in pieces[lo:i] for t in p]
            right = [t for p in pieces[i + 1:hi] for t in p]
            sequences.append(self._prefix + left + [mask] + right + self._suffix)
            mask_at.append(len(self._prefix) + len(left))
        return sequences, mask_at

    def _mask_logits(self, input_ids: torch.Tensor, attention: torch.Tensor, mask_at: torch.Tensor) -> torch.Tensor:
        """[B, full vocab] logits at one position per row; only that position goes through the output head."""
        rows = torch.arange(input_ids.shape[0], device=input_ids.device)
        model = self.model
        head = getattr(model, "cls", None) if hasattr(model, "bert") else getattr(model, "lm_head", None)
        base = getattr(model, getattr(model, "base_model_prefix", ""), None)
        if head is not None and base is not None:
            hidden = base(input_ids=input_ids, attention_mask=attention).last_hidden_state
            return head(hidden[rows, mask_at])
        return model(input_ids=input_ids, attention_mask=attention).logits[rows, mask_at]

    @torch.inference_mode()
    def distribution(self, words: Sequence[str], positions: Sequence[int]) -> np.ndarray:
        """p(word | words without words[i]) over :attr:`vocabulary`, one row per position.

        Returns:
            float32 array [len(positions), len(vocabulary)]; rows sum to at most 1.
        """
        return self.distribution_many([(words, position) for position in positions])

    @torch.inference_mode()
    def distribution_many(self, requests: Sequence[tuple[Sequence[str], int]]) -> np.ndarray:
        """p(word | text without its word at position) for many (text, position) pairs, batched.

        Returns:
            float32 array [len(requests), len(vocabulary)]; rows sum to at most 1.
        """
        sequences, mask_at, pieces = [], [], {}
        for words, position in requests:
            words, position = tuple(str(w) for w in words), int(position)
            if not 0 <= position < len(words):
                raise IndexError(f"position {position} is outside the text's {len(words)} words")
            if words not in pieces:  # every position of one text: its words are tokenized once
                pieces[words] = word_pieces(self.tokenizer, words, self._style)
            one, at = self._sequences(words, [position], pieces[words])
            sequences += one
            mask_at += at
        out = np.zeros((len(sequences), len(self.vocabulary)), dtype=np.float32)
        for start in range(0, len(sequences), self.batch_size):
            heartbeat()
            chunk = sequences[start:start + self.batch_size]
            length = max(len(s) for s in chunk)
            ids = torch.full((len(chunk), length), self._pad, dtype=torch.long)
            attention = torch.zeros((len(chunk), length), dtype=torch.long)
            for row, seq in enumerate(chunk):
                ids[row, : len(seq)] = torch.tensor(seq)
                attention[row, : len(seq)] = 1
            at = torch.tensor(mask_at[start:start + self.batch_size], dtype=torch.long)
            logits = self._mask_logits(ids.to(self.device), attention.to(self.device), at.to(self.device))
            probs = torch.softmax(logits.float(), dim=-1).index_select(1, self._vocab_ids)
            out[start:start + len(chunk)] = probs.cpu().numpy()
        return out

    def top_words(self, words: Sequence[str], position: int, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most likely whole words for one position, with their probabilities."""
        row = self.distribution(words, [position])[0]
        best = np.argsort(-row, kind="stable")[:k]
        return [(self.vocabulary[j], float(row[j])) for j in best]


def load_likelihood(spec: str, dataset: str | None = None, device: str | torch.device | None = "auto"
                    ) -> LikelihoodModel:
    """Resolve a likelihood-model spec.

    Args:
        spec: ``"mlm"`` (the shipped MLM), ``"uniform"``, ``"unigram"``, or a
            local masked-LM directory / hub name already in the local cache.
        dataset: bundled dataset name; needed by ``"unigram"`` (its training
            split gives the word frequencies). For ``"uniform"`` it picks the
            support: the dataset's training words when given, else the shipped
            MLM's whole-word vocabulary.

    Raises:
        ValueError: ``"unigram"`` without a dataset; MLMNotAvailableError for a
            model that cannot be loaded locally.
    """
    from core.lm import priors

    key = spec.strip()
    if key.lower() == "mlm":
        return MaskedLMLikelihood.default(device=device)
    if key.lower() == "unigram":
        if not dataset:
            raise ValueError("the unigram likelihood needs a dataset (its training-set word frequencies)")
        return priors.UnigramLikelihood.from_dataset(dataset)
    if key.lower() == "uniform":
        if dataset:
            return priors.UniformLikelihood(priors.UnigramLikelihood.from_dataset(dataset).vocabulary)
        return priors.UniformLikelihood(default_vocabulary())
    return MaskedLMLikelihood.from_pretrained(key, device=device)


def default_vocabulary() -> list[str]:
    """Whole-word vocabulary of the shipped MLM (read from the packaged tokenizer, no model load)."""
    from transformers import AutoTokenizer

    from core.data.pretrained import minilm_dir

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()), local_files_only=True)
    return whole_word_vocabulary(tokenizer)[0]
