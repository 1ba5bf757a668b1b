"""Kim (2014) CNN on frozen word embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.models.base import MaskedTextClassifier, masked_max_pool


class CNNClassifier(MaskedTextClassifier):
    """One convolution layer with several filter widths, max-pool over time, dropout, linear.

    As in the VMASK paper: filter sizes 3, 4, 5 with 100 maps each and dropout
    0.2. Deviation: the embeddings are frozen 50-d GloVe, not frozen 300-d
    word2vec (no word2vec package is reachable offline).

    Windows that start beyond a text's last word are excluded from the max-pool
    (a text shorter than a filter gets exactly one window), so padding never
    changes a prediction.

    Args:
        embeddings: [V, d] table, row 0 the padding word; frozen.
        num_classes: number of output classes.
    """

    architecture = "cnn"

    def __init__(self, embeddings: torch.Tensor, num_classes: int, filter_sizes=(3, 4, 5), num_filters: int = 100,
                 dropout: float = 0.2, mask_layer: nn.Module | None = None):
        super().__init__(mask_layer)
        self.embedding = nn.Embedding.from_pretrained(embeddings.float(), freeze=True, padding_idx=0)
        dim = embeddings.shape[1]
        self.filter_sizes = tuple(filter_sizes)
        self.convs = nn.ModuleList(nn.Conv1d(dim, num_filters, width) for width in self.filter_sizes)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(self.dropout, nn.Linear(num_filters * len(self.filter_sizes), num_classes))

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(input_ids)

    def represent(self, masked: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[B, 3 * 100] max-pooled filter activations."""
        lengths = attention_mask.sum(dim=1)
        x = masked.transpose(1, 2)
        widest = max(self.filter_sizes)
        if x.shape[2] < widest:
            x = F.pad(x, (0, widest - x.shape[2]))
        pooled = []
        for width, conv in zip(self.filter_sizes, self.convs):
            activations = torch.relu(conv(x)).transpose(1, 2)
            starts = torch.arange(activations.shape[1], device=x.device)
            valid = starts.unsqueeze(0) < (lengths - width + 1).clamp(min=1).unsqueeze(1)
            pooled.append(masked_max_pool(activations, valid))
        return torch.cat(pooled, dim=1)

    def frozen_parameter_names(self) -> list[str]:
        return ["embedding.weight"]
