"""Attention pooling and the variational information bottleneck of VAT (Zhou et al. 2021).

- :class:`AdditiveAttention`: alpha_i = softmax_i(v_a^T tanh(W_a x_i)), R = sum_i alpha_i x_i (eq. 2).
- :class:`VIBCompressor`: p(z|R) = N(u(R), diag(sigma(R)^2)), z = u + sigma * eps (eq. 9), and a
  classifier q(y|z); its loss is eq. 8 with the prior r(z) = N(0, I).
- :func:`gaussian_kl_to_standard_normal`: the closed-form KL term of eq. 8.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


class AdditiveAttention(nn.Module):
    """Bahdanau-style additive attention over a sequence of states (VAT eq. 2).

    alpha_i = softmax over the real positions of v_a^T tanh(W_a x_i), and R =
    sum_i alpha_i x_i. The paper writes W_a without a bias; MaskLens follows
    that. Its width (the size of W_a x) is not stated; MaskLens uses the
    state size.

    Args:
        dim: size of each state x_i.
        attention_dim: rows of W_a (None: ``dim``).
    """

    def __init__(self, dim: int, attention_dim: int | None = None):
        super().__init__()
        attention_dim = attention_dim or dim
        self.W_a = nn.Linear(dim, attention_dim, bias=False)
        self.v_a = nn.Linear(attention_dim, 1, bias=False)

    def weights(self, states: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """alpha [B, T] over ``states`` [B, T, H]; 0 where ``valid`` [B, T] is False, rows sum to 1.

        A row with no valid position puts all its weight on the first position.
        """
        valid = valid.bool().clone()
        valid[:, 0] |= ~valid.any(dim=1)
        scores = self.v_a(torch.tanh(self.W_a(states))).squeeze(-1)
        return torch.softmax(scores.masked_fill(~valid, float("-inf")), dim=-1)

    def forward(self, states: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(R [B, H], alpha [B, T]) for states [B, T, H] and valid positions [B, T]."""
        alpha = self.weights(states, valid)
        return torch.einsum("bt,bth->bh", alpha, states), alpha


def gaussian_kl_to_standard_normal(mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """KL[N(mean, diag(std^2)) || N(0, I)] per row: 0.5 * sum_d (mean^2 + std^2 - 1 - log std^2).

    Args:
        mean, std: [B, D] (std > 0).

    Returns:
        [B] KL in nats.
    """
    variance = std ** 2
    return 0.5 * (mean ** 2 + variance - 1.0 - torch.log(variance)).sum(-1)


@dataclass
class CompressorOutput:
    """q(y|z) logits [B, C], the KL term [B] (nats), and z [B, D]."""

    logits: torch.Tensor
    kl: torch.Tensor
    z: torch.Tensor


class VIBCompressor(nn.Module):
    """VAT's compressor: R -> z ~ N(u(R), sigma(R)^2) -> MLP q(y|z) (section 3.3).

    "Two MLP are used to predict u and sigma": each is Linear - tanh - Linear
    (the paper gives no sizes; MaskLens uses hidden = latent = the size of R);
    sigma goes through softplus (plus 1e-4) to stay positive. q(y|z) is an MLP
    Linear - tanh - Linear. Training samples z = u + sigma * eps (eq. 9); at
    evaluation z = u.

    Args:
        dim: size of R.
        num_classes: classes of y.
        latent_dim: size of z (None: ``dim``).
    """

    def __init__(self, dim: int, num_classes: int, latent_dim: int | None = None):
        super().__init__()
        latent_dim = latent_dim or dim
        self.mean = nn.Sequential(nn.Linear(dim, dim), nn.Tanh(), nn.Linear(dim, latent_dim))
        self.scale = nn.Sequential(nn.Linear(dim, dim), nn.Tanh(), nn.Linear(dim, latent_dim))
        self.classifier = nn.Sequential(nn.Linear(latent_dim, latent_dim), nn.Tanh(),
                                        nn.Linear(latent_dim, num_classes))

    def forward(self, representation: torch.Tensor) -> CompressorOutput:
        """Compress R [B, dim]; see the class docstring."""
        mean = self.mean(representation)
        std = F.softplus(self.scale(representation)) + 1e-4
        z = mean + std * torch.randn_like(std) if self.training else mean
        return CompressorOutput(self.classifier(z), gaussian_kl_to_standard_normal(mean, std), z)


def vib_loss(output: CompressorOutput, labels: torch.Tensor, beta: float) -> torch.Tensor:
    """Negative of VAT eq. 8, averaged over the batch: CE(q(y|z), y) + beta * KL[p(z|R) || N(0, I)]."""
    return F.cross_entropy(output.logits, labels) + beta * output.kl.mean()
