"""A hand-built sentence-pair model for fast tests: its output depends on one word in each text.

Every word has a 1-d embedding: 1 for "cat" and "dog", 0 otherwise. With s_a the sum over A's
(masked) embeddings and s_b the same over B, the logit of "yes" is l = 12 s_a s_b - 6 and the
logits are (-l/2, l/2), so p(yes) = sigmoid(l): sigmoid(6) when A holds "cat" and B holds "dog",
sigmoid(-6) once either is erased.
"""

from __future__ import annotations

import torch
from torch import nn

from core.data.tokenizers import Vocab, WordTokenizer
from core.models.pair import LoadedPairModel, PairClassifier

WORDS = ["<pad>", "<unk>", "the", "cat", "sat", "on", "mat", "a", "dog", "ran", "in", "park", "big", "small"]
KEY_WORDS = ("cat", "dog")
TEXT_A = "the cat sat on the mat"
TEXT_B = "a dog ran in the park"


class AndPairModel(PairClassifier):
    """l = 12 * s_a * s_b - 6 (see the module docstring)."""

    architecture = "toy-pair"

    def __init__(self):
        super().__init__()
        table = torch.tensor([[1.0] if w in KEY_WORDS else [0.0] for w in WORDS])
        self.embedding = nn.Embedding.from_pretrained(table, freeze=True)

    def embed(self, input_ids):
        return self.embedding(input_ids)

    def compare(self, emb_a, attn_a, emb_b, attn_b):
        s_a = (emb_a[..., 0] * attn_a).sum(1)
        s_b = (emb_b[..., 0] * attn_b).sum(1)
        logit = 12 * s_a * s_b - 6
        return torch.stack([-logit / 2, logit / 2], -1)


def toy_pair_model() -> LoadedPairModel:
    """The :class:`AndPairModel` with a word tokenizer over :data:`WORDS`."""
    config = {"label_names": ["no", "yes"], "architecture": "toy-pair", "method": "base", "pair": True,
              "dataset": "toy-pairs", "mask_config": {"kind": "none"}, "model_config": {}}
    return LoadedPairModel("toy-pair", AndPairModel().eval(), WordTokenizer(Vocab(WORDS), max_len=20), config)
