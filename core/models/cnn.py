"""Kim (2014) CNN on frozen word embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.models.base import MaskedTextClassifier, masked_max_pool
from core.progress import heartbeat


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
        each changes by W_j (z_c - z_i) with j = i - s its offset. So the
        text's own activations are computed once, the max-pool over the
        unchanged windows comes from prefix/suffix maxima, and per variant
        only the covering windows are recomputed: one matmul of the swapped-in
        embedding with every filter's offset weights, [d] x [d, sum(width) * F],
        then the max over offsets, the max with the unchanged windows, the relu
        and the head, chunk by chunk (``batch_size`` variants of one position),
        so no [N, F] feature table is ever built. Valid when the mask layer acts
        on each token alone (none, VMASK, IBA at evaluation); otherwise (L2X,
        or training mode) the generic version runs.
        """
        if self.training or not getattr(self.mask, "token_local", False):
            return super().substitution_logits(input_ids, attention_mask, positions, replacements, batch_size)
        length = int(attention_mask[0].sum())
        text = self.mask(self.embed(input_ids[:1]), attention_mask[:1].bool()).masked[0]           # [T, d]
        text = F.pad(text, (0, 0, 0, max(max(self.filter_sizes) - text.shape[0], 0)))
        unique, inverse = torch.unique(replacements, return_inverse=True)
        everywhere = torch.ones(1, unique.shape[0], dtype=torch.bool, device=unique.device)
        swapped_in = self.mask(self.embed(unique).unsqueeze(0), everywhere).masked[0]              # [U, d]
        terms = [self._swap_terms(conv, width, text, length) for width, conv in zip(self.filter_sizes, self.convs)]
        base = torch.cat([b.flatten(1) for b, _ in terms], 1)                                     # [T, sum(w) * F]
        floor = torch.cat([f for _, f in terms], 1)                                               # [T, 3 * F]
        weight = torch.cat([conv.weight.permute(1, 2, 0).flatten(1) for conv in self.convs], 1)   # [d, sum(w) * F]
        order = torch.argsort(positions, stable=True)
        out = torch.empty(positions.shape[0], self.num_classes, device=text.device)
        sorted_positions, sorted_inverse = positions[order], inverse[order]
        _, counts = torch.unique_consecutive(sorted_positions, return_counts=True)
        start = 0
        for count in counts.tolist():
            at = int(sorted_positions[start])
            for lo in range(start, start + count, batch_size):
                heartbeat(lo / len(order))
                hi = min(lo + batch_size, start + count)
                pre = torch.addmm(base[at], swapped_in.index_select(0, sorted_inverse[lo:hi]), weight)
                out[order[lo:hi]] = self._head_after_swap(pre, floor[at])
            start += count
        return out

    def _head_after_swap(self, pre: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
        """[k, C] logits from ``pre`` [k, sum(w) * F], the covering windows' pre-activations (per width,
        offset-major), and ``floor`` [3 * F], relu of the max over the windows the swap leaves alone.

        relu(max(...)) = max(relu(...)), so the max runs on pre-activations and the floor ends it.
        """
        n_filters, rows, pooled, at = self.convs[0].out_channels, pre.shape[0], [], 0
        for width in self.filter_sizes:
            pooled.append(pre[:, at: at + width * n_filters].view(rows, width, n_filters).amax(1))
            at += width * n_filters
        linear = self.head[-1]  # the dropout before it is the identity at evaluation
        return torch.addmm(linear.bias, torch.maximum(torch.cat(pooled, 1), floor), linear.weight.T)

    @staticmethod
    def _swap_terms(conv: nn.Conv1d, width: int, text: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """What a swap at each text position i leaves of one filter width's windows.

        Returns:
            base [T, width, F]: the pre-activation of the window covering i at offset j, without
            token i's own term (-inf where that window does not exist); floor [T, F]: relu of
            the max pre-activation over the windows that do not cover i (0 when there is none).
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
        text_proj = torch.einsum("td,fdj->tjf", text, conv.weight)            # [T, width, F]
        window = at.unsqueeze(1) - torch.arange(width, device=text.device).unsqueeze(0)  # [T, width]: i - offset
        exists = (window >= 0) & (window < n_valid)
        base = (pre[window.clamp(0, pre.shape[0] - 1)] - text_proj).masked_fill(~exists.unsqueeze(2), float("-inf"))
        return base, untouched.clamp(min=0)
