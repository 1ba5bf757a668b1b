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

from core.data.tokenizers import EncodedBatch, WordPieceTokenizer
from core.device import pick_device
from core.models.hf_classifier import content_fingerprint, label_names
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


def load_hf_pair_model(source: str, device: str | None = None, max_len: int = 128) -> LoadedPairModel:
    """Wrap a local directory or cached hub name (``hf-pair:`` prefix optional) as a :class:`LoadedPairModel`.

    Raises:
        ValueError: the model or tokenizer cannot be loaded locally.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = source[len(PREFIX):] if source.startswith(PREFIX) else source
    try:
        hf_model = AutoModelForSequenceClassification.from_pretrained(source, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot load a Hugging Face sequence-pair classifier from {source!r} without the network "
                         f"(a local directory, or a hub name already in the local cache): {error}") from error
    labels = label_names(hf_model)
    config = {"architecture": "hf-pair", "method": "base", "dataset": "", "pair": True, "label_names": labels,
              "model_config": {"source": source, "max_len": max_len}, "mask_config": {"kind": "none"},
              "weights_sha256": content_fingerprint(hf_model)}
    model = HFPairClassifier(hf_model).eval().to(pick_device(device))
    return LoadedPairModel(Path(source).name, model, WordPieceTokenizer(tokenizer, max_len=max_len), config)
