"""Decomposable attention model (Parikh et al. 2016), the GMASK paper's DAttn."""

from __future__ import annotations

import torch
from torch import nn

from core.models.pair import PairClassifier

NEG = -1e9  # finite "minus infinity": a text with no real word still gives a defined (uniform) attention


def _feed_forward(inputs: int, hidden: int, dropout: float) -> nn.Sequential:
    """Two ReLU layers with dropout before each, as Parikh et al.'s F, G and H blocks."""
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(inputs, hidden), nn.ReLU(),
                         nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU())


class DecomposableAttention(PairClassifier):
    """Attend, compare, aggregate (Parikh et al. 2016) over frozen GloVe-50d word embeddings.

    - Attend: e_ij = F(a_i) . F(b_j); beta_i = sum_j softmax_j(e_ij) b_j, alpha_j = sum_i softmax_i(e_ij) a_i.
    - Compare: v1_i = G([a_i; beta_i]), v2_j = G([b_j; alpha_j]).
    - Aggregate: v1 = sum_i v1_i, v2 = sum_j v2_j over real words; logits = H([v1; v2]).

    Padding is excluded from the attention and from the sums, so padding never
    changes a prediction. Deviations from the GMASK paper's DAttn: frozen 50-d
    GloVe instead of 300-d fastText (the package available offline), hidden size
    100 instead of 300 (our pair task is small), no intra-sentence attention
    (Parikh et al.'s optional extension, not used by GMASK either).

    Args:
        embeddings: [V, 50] table, row 0 the padding word; frozen.
        num_classes: number of classes.
        hidden_dim: width of F, G and H.
        dropout: dropout before every linear layer of F, G, H.
    """

    def __init__(self, embeddings: torch.Tensor, num_classes: int, hidden_dim: int = 100, dropout: float = 0.2):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(embeddings.float(), freeze=True, padding_idx=0)
        dim = embeddings.shape[1]
        self.attend = _feed_forward(dim, hidden_dim, dropout)
        self.compare_net = _feed_forward(2 * dim, hidden_dim, dropout)
        self.aggregate = nn.Sequential(_feed_forward(2 * hidden_dim, hidden_dim, dropout),
                                       nn.Linear(hidden_dim, num_classes))

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(input_ids)

    def compare(self, emb_a, attn_a, emb_b, attn_b) -> torch.Tensor:
        """Logits [B, C]; see the class docstring for the three steps."""
        scores = self.attend(emb_a) @ self.attend(emb_b).transpose(1, 2)                      # [B, Ta, Tb]
        to_b = torch.softmax(scores.masked_fill(~attn_b.unsqueeze(1), NEG), dim=2)             # over j
        to_a = torch.softmax(scores.masked_fill(~attn_a.unsqueeze(2), NEG), dim=1)             # over i
        beta = to_b @ emb_b                                                                    # [B, Ta, d]
        alpha = to_a.transpose(1, 2) @ emb_a                                                   # [B, Tb, d]
        v1 = self.compare_net(torch.cat([emb_a, beta], -1)) * attn_a.unsqueeze(-1)
        v2 = self.compare_net(torch.cat([emb_b, alpha], -1)) * attn_b.unsqueeze(-1)
        return self.aggregate(torch.cat([v1.sum(1), v2.sum(1)], -1))

    def frozen_parameter_names(self) -> list[str]:
        return ["embedding.weight"]
