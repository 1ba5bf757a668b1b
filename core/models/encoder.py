"""The BERT-family encoder of the MiniLM models: built from a model config, and its parameter names.

The MiniLM classifiers keep the encoder as their ``encoder`` attribute, so its
parameters are named ``encoder.<name inside the encoder>``: the word-piece
table ``encoder.embeddings.word_embeddings.weight``, the other embeddings
``encoder.embeddings.*``, layer ``i`` ``encoder.encoder.layer.<i>.*``
(``transformers``' ``BertModel`` names). Every rule that reads these names
(which parameters are frozen, which Adam group or VAT phase trains them, which
are fingerprinted at load time) asks this module.
"""

from __future__ import annotations

from typing import Any

import torch

from core.data import pretrained

ENCODER_PREFIX = "encoder."  # the classifiers' attribute: every encoder parameter's name starts with it
EMBEDDINGS_PREFIX = "embeddings."
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
LAYERS_PREFIX = "encoder.layer."


def build_encoder(spec: Any):
    """The BERT-family encoder a model config names: the packaged MiniLM, or a seeded random BERT (tests)."""
    from transformers import BertConfig, BertModel
    from transformers.utils import logging as hf_logging

    if spec == "packaged":
        # The packaged weights include a pooler we do not use; its "unexpected key" report is noise.
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        return BertModel.from_pretrained(str(pretrained.minilm_dir()), local_files_only=True, add_pooling_layer=False)
    torch.manual_seed(int(spec.get("seed", 0)))
    return BertModel(BertConfig(**spec["bert_config"]), add_pooling_layer=False)


def word_pieces_directory(model_config: dict[str, Any]):
    """The directory of the word-piece vocabulary a model config's encoder uses."""
    spec = model_config["encoder"]
    return pretrained.minilm_dir() if spec == "packaged" else spec.get("tokenizer_dir", pretrained.minilm_dir())


def classifier_name(name: str) -> str:
    """The classifier's name of an encoder parameter (``embeddings.x`` -> ``encoder.embeddings.x``)."""
    return ENCODER_PREFIX + name


def encoder_name(name: str) -> str | None:
    """The encoder's own name of a classifier parameter, or None when it is not an encoder parameter."""
    return name[len(ENCODER_PREFIX):] if name.startswith(ENCODER_PREFIX) else None


def layer_index(name: str) -> int | None:
    """The layer number of an encoder parameter (its name inside the encoder), None outside the layers."""
    if not name.startswith(LAYERS_PREFIX):
        return None
    return int(name[len(LAYERS_PREFIX):].split(".", 1)[0])


def is_frozen(name: str, num_layers: int, trainable_layers: int | None) -> bool:
    """Whether an encoder parameter (its name inside the encoder) stays frozen.

    The word-piece table is always frozen; with ``trainable_layers`` = n the
    embeddings and every layer below the top n are frozen too.
    """
    if name == WORD_EMBEDDINGS:
        return True
    if trainable_layers is None:
        return False
    if name.startswith(EMBEDDINGS_PREFIX):
        return True
    index = layer_index(name)
    return index is not None and index < num_layers - int(trainable_layers)
