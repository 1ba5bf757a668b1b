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

    @torch.no_grad()
    def substitution_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor,
                            replacements: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Exact shortcut for one-token swaps (see the base class for arguments and shapes).

        Swapping token i changes only the ``width`` windows that cover i, and
        each changes by W_j (z_c - z_i) with j = i - s its offset. So every
        candidate's filter projections are computed once, the text's own
        activations once, and the max-pool over the unchanged windows comes
        from prefix/suffix maxima: O(N * F * width) per filter width instead
        of a full convolution per variant. Valid when the mask layer acts on
        each token alone (none, VMASK, IBA at evaluation); otherwise (L2X, or
        training mode) the generic version runs.
        """
        if self.training or not getattr(self.mask, "token_local", False):
            return super().substitution_logits(input_ids, attention_mask, positions, replacements, batch_size)
        length = int(attention_mask[0].sum())
        text = self.mask(self.embed(input_ids[:1]), attention_mask[:1].bool()).masked[0]           # [T, d]
        text = F.pad(text, (0, 0, 0, max(max(self.filter_sizes) - text.shape[0], 0)))
        unique, inverse = torch.unique(replacements, return_inverse=True)
        everywhere = torch.ones(1, unique.shape[0], dtype=torch.bool, device=unique.device)
        swapped_in = self.mask(self.embed(unique).unsqueeze(0), everywhere).masked[0]              # [U, d]
        pooled = [self._pool_after_swap(conv, width, text, length, positions, swapped_in, inverse)
                  for width, conv in zip(self.filter_sizes, self.convs)]
        return self.head(torch.cat(pooled, dim=1))

    @staticmethod
    def _pool_after_swap(conv: nn.Conv1d, width: int, text: torch.Tensor, length: int, positions: torch.Tensor,
                         swapped_in: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
        """[N, F] max-pooled activations of one filter width for every swap.

        relu(max(...)) = max(relu(...)), so the max runs on pre-activations and
        one relu ends it; windows that do not exist hold -inf.
        """
        pre = conv(text.T.unsqueeze(0))[0].T                                  # [S, F] pre-activations
        n_valid = max(length - width + 1, 1)
        act = pre[:n_valid]                                                   # [V, F]
        prefix = torch.cummax(act, dim=0).values
        suffix = torch.cummax(act.flip(0), dim=0).values.flip(0)
        at = torch.arange(text.shape[0], device=text.device)                  # every text position i
        neg_inf = torch.full_like(pre[:1], float("-inf"))
        untouched = torch.maximum(                                            # [T, F] max over windows not covering i
            torch.where((at - width >= 0).unsqueeze(1), prefix[(at - width).clamp(0, n_valid - 1)], neg_inf),
            torch.where((at + 1 < n_valid).unsqueeze(1), suffix[(at + 1).clamp(max=n_valid - 1)], neg_inf))
        weight = conv.weight                                                  # [F, d, width]
        text_proj = torch.einsum("td,fdj->jtf", text, weight)                 # [width, T, F]
        cand_proj = torch.einsum("ud,fdj->juf", swapped_in, weight)           # [width, U, F]
        window = at.unsqueeze(0) - torch.arange(width, device=text.device).unsqueeze(1)  # [width, T]: i - offset
        exists = (window >= 0) & (window < n_valid)
        # the covering window's pre-activation without token i's own term; -inf where the window does not exist
        base = (pre[window.clamp(0, pre.shape[0] - 1)] - text_proj).masked_fill(~exists.unsqueeze(2), float("-inf"))
        best = untouched.index_select(0, positions)                          # [N, F]
        for offset in range(width):
            best = torch.maximum(best, base[offset].index_select(0, positions)
                                 + cand_proj[offset].index_select(0, inverse))
        return torch.relu(best)
