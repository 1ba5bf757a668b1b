"""Any Hugging Face sequence classifier (BERT, RoBERTa, DistilBERT, ALBERT, ...) as a MaskLens model.

``load_model("hf:<local directory or hub name>")`` wraps ``AutoModelForSequenceClassification``
and its fast tokenizer, both loaded with ``local_files_only=True``: a hub name must already be in
the local Hugging Face cache, nothing downloads. The network is split at its input embeddings like
every MaskLens classifier: explainers scale or replace the word-piece embeddings that
``get_input_embeddings()`` gives and the model goes on from ``inputs_embeds`` (position and
token-type embeddings are added inside, as for input ids), so with nothing masked its
probabilities are the Hugging Face model's own. :func:`check_embedding_entry` verifies that on a
probe text at load time, since a model family that scales or mixes its embeddings only when given
ids could not be explained this way.

Words are the text's whitespace-separated chunks, case and punctuation kept
(:class:`~core.data.tokenizers.SubwordTokenizer` with ``words="raw"``), so the model reads
the text it was trained on; a word's pieces come from the tokenizer's offsets. The model is frozen
and never stored: a registered model (:func:`register_hf_model`) is a checkpoint folder holding
only a config with the source and a fingerprint of every tensor, checked when it is loaded.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from core import checkpoints
from core.data.tokenizers import SubwordTokenizer
from core.models.base import ClassifierOutput, MaskedTextClassifier

PREFIX = "hf:"
ARCHITECTURE = "hf"  # its ArchitectureSpec name (core.models.architectures)
DEFAULT_MAX_LEN = 128  # pieces, special tokens included: longer texts keep their first whole words
EMBEDDING_TOLERANCE = 1e-4  # largest |logit difference| between the ids and the inputs_embeds entry points


class HFSequenceClassifier(MaskedTextClassifier):
    """A frozen ``...ForSequenceClassification`` behind the :class:`MaskedTextClassifier` contract.

    The mask slot is empty. ``head`` is the model's last linear layer with one output per class
    (BERT's ``classifier``, RoBERTa's ``classifier.out_proj``), so the sentence vector the
    Representations page projects is what that layer reads ([B, H]).
    """

    def __init__(self, hf_model: nn.Module):
        super().__init__(None)
        self.hf = hf_model.requires_grad_(False)
        scorers = [m for m in hf_model.modules()
                   if isinstance(m, nn.Linear) and m.out_features == hf_model.config.num_labels]
        if not scorers:
            raise ValueError(f"{type(hf_model).__name__} has no linear layer with one output per class")
        object.__setattr__(self, "_scorer", scorers[-1])  # a reference, not a second copy in state_dict

    @property
    def head(self) -> nn.Linear:
        return self._scorer

    @property
    def num_classes(self) -> int:
        return int(self.hf.config.num_labels)

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.hf.get_input_embeddings()(input_ids)

    def forward_embeddings(self, embeddings: torch.Tensor, attention_mask: torch.Tensor,
                           token_mask: torch.Tensor | None = None) -> ClassifierOutput:
        """Logits [B, C] of word-piece embeddings [B, T, d] (attention_mask [B, T]: real positions)."""
        attention_mask = attention_mask.bool()
        mask_out = self.mask(embeddings, attention_mask if token_mask is None else token_mask.bool())
        logits = self.hf(inputs_embeds=mask_out.masked, attention_mask=attention_mask.long()).logits
        return ClassifierOutput(logits, mask_out)

    def represent(self, masked: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[B, H]: what the class scorer (``head``) reads for (masked) embeddings [B, T, d]."""
        seen: list[torch.Tensor] = []
        caller = threading.get_ident()  # a shared model: only this thread's forward pass is ours
        handle = self.head.register_forward_pre_hook(
            lambda module, inputs: seen.append(inputs[0]) if threading.get_ident() == caller else None)
        try:
            self.forward_embeddings(masked, attention_mask)
        finally:
            handle.remove()
        return seen[-1]

    def frozen_parameter_names(self) -> list[str]:
        """Every parameter: the model is rebuilt from its source, never stored."""
        return [name for name, _ in self.named_parameters()]


def strip_prefix(source: str) -> str:
    """``source`` without the ``hf:`` prefix."""
    return source[len(PREFIX):] if source.startswith(PREFIX) else source


def load_hf_parts(source: str, tokenizer_only: bool = False) -> tuple[nn.Module | None, Any]:
    """(``AutoModelForSequenceClassification``, fast tokenizer) of a local directory or cached hub name;
    with ``tokenizer_only`` the model is not loaded (None), which a tokenizer for a model already
    built needs (the weights are read once).

    Raises:
        ValueError: not found locally (the message says where it was looked for), or not a
            sequence classifier.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    source = strip_prefix(source)
    folder = Path(source).expanduser()
    if not folder.exists() and source.startswith(("/", ".", "~")):
        raise ValueError(f"there is no folder {folder.resolve()}: give a folder written by save_pretrained, or the "
                         f"name of a model in the local Hugging Face cache ({_hub_cache()})")
    target = str(folder) if folder.exists() else source
    where = (f"the folder {folder.resolve()}" if folder.exists() else
             f"the local Hugging Face cache ({_hub_cache()}) under the name {source!r} (no folder of that name here)")
    hf_logging.disable_progress_bar()
    try:
        model = None if tokenizer_only else \
            AutoModelForSequenceClassification.from_pretrained(target, local_files_only=True).eval()
        tokenizer = AutoTokenizer.from_pretrained(target, local_files_only=True)
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"cannot load a Hugging Face sequence classifier from {where} without the network: "
                         f"{str(error).splitlines()[0][:300]}") from error
    return model, tokenizer


def _hub_cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def build_hf_classifier(model_config: dict[str, Any], num_classes: int) -> HFSequenceClassifier:
    """The wrapped classifier a model config names (``source``); its classes must be ``num_classes``."""
    hf_model, tokenizer = load_hf_parts(model_config["source"])
    if hf_model.config.num_labels != num_classes:
        raise ValueError(f"{model_config['source']!r} has {hf_model.config.num_labels} classes, the config "
                         f"{num_classes}")
    model = HFSequenceClassifier(hf_model)
    check_embedding_entry(model, hf_tokenizer(model_config, tokenizer))
    return model


def hf_tokenizer(model_config: dict[str, Any], tokenizer: Any = None) -> SubwordTokenizer:
    """The source's tokenizer on raw whitespace words, cut at ``max_len`` pieces."""
    if tokenizer is None:
        tokenizer = load_hf_parts(model_config["source"], tokenizer_only=True)[1]
    return SubwordTokenizer(tokenizer, max_len=int(model_config.get("max_len", DEFAULT_MAX_LEN)), words="raw")


@torch.no_grad()
def check_embedding_entry(model: HFSequenceClassifier, tokenizer: SubwordTokenizer) -> None:
    """ValueError unless logits from ``inputs_embeds`` = embed(ids) equal those from the ids (probe text)."""
    batch = tokenizer.encode(["a short probe text for the model", "and another one"])
    by_ids = model.hf(input_ids=batch.input_ids, attention_mask=batch.attention_mask.long()).logits
    by_embeddings = model(batch.input_ids, batch.attention_mask).logits
    gap = float((by_ids - by_embeddings).abs().max())
    if not gap <= EMBEDDING_TOLERANCE:
        raise ValueError(f"{type(model.hf).__name__} gives other logits from its input embeddings than from "
                         f"its token ids (largest difference {gap:.2g}), so MaskLens cannot explain it at the "
                         "embedding layer")


def label_names(hf_model: nn.Module) -> list[str]:
    """Class names from the model's ``id2label`` (``class i`` where it names none)."""
    id2label = hf_model.config.id2label or {}
    return [str(id2label.get(i, id2label.get(str(i), f"class {i}"))) for i in range(hf_model.config.num_labels)]


def hf_config(source: str, hf_model: nn.Module, fingerprint: str, max_len: int = DEFAULT_MAX_LEN) -> dict[str, Any]:
    """The checkpoint config of a wrapped model (no ``format`` fields; see :func:`register_hf_model`)."""
    return {"architecture": ARCHITECTURE, "method": "base", "dataset": "", "label_names": label_names(hf_model),
            "model_config": {"source": strip_prefix(source), "max_len": int(max_len)}, "mask_config": {"kind": "none"},
            "weights_sha256": fingerprint, "format": checkpoints.FORMAT, "format_version": checkpoints.FORMAT_VERSION,
            "hf": {"model_class": type(hf_model).__name__, "model_type": hf_model.config.model_type}}


def content_fingerprint(hf_model: nn.Module) -> str:
    """sha256 hex over a Hugging Face model's config and every tensor of its state (names, shapes, bytes).

    Two different models in folders of the same name get different fingerprints, so the
    evaluation store never serves one model's results to the other.
    """
    settings = {k: v for k, v in hf_model.config.to_dict().items() if k != "_name_or_path"}  # where, not what
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode("utf-8"))
    for name, tensor in sorted(hf_model.state_dict().items()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode("utf-8"))
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def load_source(source: str, max_len: int = DEFAULT_MAX_LEN) -> tuple[HFSequenceClassifier, SubwordTokenizer,
                                                                        dict[str, Any]]:
    """(network, tokenizer, config) of a Hugging Face classifier, checked at its embedding entry point.

    Raises:
        ValueError: it cannot be loaded offline, or cannot be explained at its embeddings.
    """
    hf_model, tokenizer = load_hf_parts(source)
    model = HFSequenceClassifier(hf_model).eval()
    max_len = min(int(max_len), position_limit(hf_model, tokenizer))
    words = hf_tokenizer({"source": source, "max_len": max_len}, tokenizer)
    check_embedding_entry(model, words)
    return model, words, hf_config(source, hf_model, content_fingerprint(hf_model), max_len)


def position_limit(hf_model: nn.Module, tokenizer: Any) -> int:
    """Most pieces (special tokens included) the model reads: the tokenizer's ``model_max_length`` when it
    sets one, else the model's position table less 2 (RoBERTa-style models start positions at 2)."""
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 100_000:
        return limit
    positions = getattr(hf_model.config, "max_position_embeddings", None)
    return int(positions) - 2 if isinstance(positions, int) and positions > 2 else DEFAULT_MAX_LEN


def source_fingerprint(model: HFSequenceClassifier) -> str:
    """The fingerprint a registered model's config holds (its ``weights_sha256``)."""
    return content_fingerprint(model.hf)


def register_hf_model(name: str, source: str, max_len: int = DEFAULT_MAX_LEN, output_dir: str | Path | None = None,
                      overwrite: bool = False) -> Path:
    """Register a Hugging Face classifier under ``name``: a folder in the user models holding only its config.

    The config keeps the source (an absolute path for a local folder) and the fingerprint of
    every tensor; the weights stay where they are. It is then listed by ``python -m core.models
    list``, offered in every page's model picker and loaded by name.

    Raises:
        ValueError: a bad or taken name (see :func:`core.registry.new_model_directory`), or a
            source that cannot be loaded.
    """
    return register_source(name, strip_prefix(source), lambda resolved: load_source(resolved, max_len)[2],
                           output_dir, overwrite)


def register_source(name: str, source: str, config_of: Callable[[str], dict[str, Any]],
                    output_dir: str | Path | None = None, overwrite: bool = False) -> Path:
    """Write a user-model folder ``name`` holding only ``config_of(source)``, with a local folder's
    path made absolute (the weights stay at ``source``); the name is checked before anything loads.
    Shared by :func:`register_hf_model` and :func:`core.models.hf_pair.register_hf_pair_model`.

    Raises:
        ValueError: a bad or taken name (see :func:`core.registry.new_model_directory`), or what
            ``config_of`` raises for a source that cannot be loaded.
    """
    from core.fileio import atomic_directory
    from core.registry import new_model_directory

    target = new_model_directory(name, output_dir, overwrite)
    local = Path(source).expanduser()
    config = config_of(str(local.resolve()) if local.is_dir() else source)
    with atomic_directory(target) as tmp:
        (tmp / checkpoints.CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, separators=(",", ":")),
                                                   encoding="utf-8")
    return target


def suggested_name(source: str) -> str:
    """A registry name for ``source``: its last path part with characters names cannot hold replaced by ``-``."""
    import re

    tail = Path(strip_prefix(source).rstrip("/\\")).name or "hf-model"
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", tail).strip("-._")[:100]
    return name or "hf-model"
