"""Any Hugging Face sequence-pair classifier (BERT-style cross-encoder) as a MaskLens pair model.

``load_model("hf-pair:<local directory or hub name>")`` wraps
``AutoModelForSequenceClassification`` and its tokenizer (loaded with
``local_files_only=True``: a hub name must already be in the local cache,
nothing downloads). The two texts are joined as the model was trained:
``[CLS] A [SEP] B [SEP]`` with token types 0 for ``[CLS] A [SEP]`` and 1 for
``B [SEP]``. Masks scale the word-piece embeddings (before position and token
type embeddings are added), so every pair explainer applies. Tokenizers must
have ``[CLS]``/``[SEP]``-style special tokens (BERT, MiniLM, ELECTRA, ...).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from core import checkpoints
from core.data.tokenizers import EncodedBatch, WordPieceTokenizer
from core.device import pick_device
from core.models.hf_classifier import content_fingerprint, label_names, load_hf_parts, register_source
from core.models.pair import LoadedPairModel, PairClassifier

PREFIX = "hf-pair:"


class HFPairClassifier(PairClassifier):
    """A frozen ``...ForSequenceClassification`` reading ``[CLS] A [SEP] B [SEP]`` from (masked) embeddings."""

    architecture = "hf-pair"

    def __init__(self, hf_model: nn.Module):
        super().__init__()
        self.hf = hf_model.requires_grad_(False)

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.hf.get_input_embeddings()(input_ids)

    def forward_pair(self, a: EncodedBatch, b: EncodedBatch, keep_a: torch.Tensor | None = None,
                     keep_b: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [N, C]; A's [CLS]..[SEP] followed by B without its [CLS] (see the module docstring)."""
        emb_a, emb_b = self.masked_embeddings(a, b, keep_a, keep_b)
        rows = emb_a.shape[0]
        len_a = a.attention_mask.sum(1).expand(rows) if a.attention_mask.shape[0] == 1 else a.attention_mask.sum(1)
        len_b = b.attention_mask.sum(1).expand(rows) if b.attention_mask.shape[0] == 1 else b.attention_mask.sum(1)
        total = int((len_a + len_b - 1).max())
        joint = emb_a.new_zeros(rows, total, emb_a.shape[-1])
        types = torch.zeros(rows, total, dtype=torch.long, device=emb_a.device)
        attention = torch.zeros(rows, total, dtype=torch.long, device=emb_a.device)
        for row in range(rows):  # one pair's variants share a layout; the loop only copies slices
            la, lb = int(len_a[row]), int(len_b[row])
            joint[row, :la] = emb_a[row, :la]
            joint[row, la: la + lb - 1] = emb_b[row, 1:lb]
            types[row, la: la + lb - 1] = 1
            attention[row, : la + lb - 1] = 1
        return self.hf(inputs_embeds=joint, attention_mask=attention, token_type_ids=types).logits


def strip_pair_prefix(source: str) -> str:
    """``source`` without a leading ``hf-pair:``."""
    return source[len(PREFIX):] if source.startswith(PREFIX) else source


def load_pair_parts(source: str, tokenizer_only: bool = False) -> tuple[nn.Module | None, object]:
    """(``AutoModelForSequenceClassification``, tokenizer) of a local directory or cached hub name
    (``hf-pair:`` prefix optional), offline: :func:`core.models.hf_classifier.load_hf_parts`.

    Raises:
        ValueError: the model or tokenizer cannot be loaded locally.
    """
    return load_hf_parts(strip_pair_prefix(source), tokenizer_only)


def build_hf_pair_classifier(model_config: dict, num_classes: int) -> HFPairClassifier:
    """The wrapped pair classifier a (registered) model config names (``source``); it must have ``num_classes``."""
    hf_model, _ = load_pair_parts(model_config["source"])
    if hf_model.config.num_labels != num_classes:
        raise ValueError(f"{model_config['source']!r} has {hf_model.config.num_labels} classes, the config "
                         f"{num_classes}")
    return HFPairClassifier(hf_model)


def hf_pair_tokenizer(model_config: dict, tokenizer: object = None) -> WordPieceTokenizer:
    """The source's tokenizer on MaskLens' cleaned words, each text cut at ``max_len`` pieces."""
    if tokenizer is None:
        tokenizer = load_pair_parts(model_config["source"], tokenizer_only=True)[1]
    return WordPieceTokenizer(tokenizer, max_len=int(model_config.get("max_len", 128)))


def pair_config(source: str, hf_model: nn.Module, max_len: int) -> dict:
    """The checkpoint config of a wrapped pair model (the weights stay at ``source``)."""
    return {"architecture": HFPairClassifier.architecture, "method": "base", "dataset": "", "pair": True,
            "label_names": label_names(hf_model), "model_config": {"source": source, "max_len": int(max_len)},
            "mask_config": {"kind": "none"}, "weights_sha256": content_fingerprint(hf_model),
            "format": checkpoints.FORMAT, "format_version": checkpoints.FORMAT_VERSION}


def load_hf_pair_model(source: str, device: str | None = None, max_len: int = 128) -> LoadedPairModel:
    """Wrap a local directory or cached hub name (``hf-pair:`` prefix optional) as a :class:`LoadedPairModel`.

    Raises:
        ValueError: the model or tokenizer cannot be loaded locally.
    """
    source = strip_pair_prefix(source)
    hf_model, tokenizer = load_pair_parts(source)
    config = pair_config(source, hf_model, max_len)
    model = HFPairClassifier(hf_model).eval().to(pick_device(device))
    return LoadedPairModel(Path(source).name, model, hf_pair_tokenizer(config["model_config"], tokenizer), config)


def register_hf_pair_model(name: str, source: str, max_len: int = 128, output_dir: str | Path | None = None,
                           overwrite: bool = False) -> Path:
    """Register a Hugging Face sequence-pair classifier under ``name``, as
    :func:`core.models.hf_classifier.register_hf_model` does a single-text one: a user-model folder
    holding only its config (absolute source, fingerprint of every tensor); loading it by name
    refuses a source that changed since.

    Raises:
        ValueError: a bad or taken name, or a source that cannot be loaded.
    """
    return register_source(name, strip_pair_prefix(source),
                           lambda resolved: pair_config(resolved, load_pair_parts(resolved)[0], max_len),
                           output_dir, overwrite)
