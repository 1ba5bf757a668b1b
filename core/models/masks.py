"""Mask layers that sit between the word embeddings and the rest of a classifier.

Each layer maps embeddings ``[B, T, d]`` to masked embeddings of the same shape
and reports a per-token importance in [0, 1] and a regulariser (the method's
penalty term, already averaged, to be scaled by the trainer's ``beta``).

- :class:`VariationalWordMask` (VMASK, Chen & Ji 2020, sections 3.2-3.4, appendix B)
- :class:`InformationBottleneckMask` (IBA readout bottleneck, VMASK appendix C)
- :class:`L2XMask` (Learning to Explain, Chen et al. 2018, as VMASK appendix C uses it)
- :class:`NoMask` (base and l2 models)

Positions where ``token_mask`` is False (padding, ``[CLS]``, ``[SEP]``) are
passed through unchanged and excluded from the regulariser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class MaskOutput:
    """Result of a mask layer.

    Attributes:
        masked: [B, T, d] embeddings passed on to the classifier.
        importance: [B, T] per-token importance in [0, 1] (VMASK: E[q(R|x)]; IBA: lambda;
            L2X: selection probability), 0 at non-word positions; None for :class:`NoMask`.
        regularizer: scalar penalty of the method (0 when it has none).
    """

    masked: torch.Tensor
    importance: torch.Tensor | None
    regularizer: torch.Tensor


def _masked_mean(values: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` [B, T] over positions where ``token_mask`` is True (0 when none are)."""
    weights = token_mask.to(values.dtype)
    return (values * weights).sum() / weights.sum().clamp(min=1.0)


def _scorer(embed_dim: int, hidden_dim: int, outputs: int) -> nn.Sequential:
    """The single-hidden-layer inference network used by every mask layer."""
    return nn.Sequential(nn.Linear(embed_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, outputs))


class NoMask(nn.Module):
    """Identity: the slot is empty (base, l2)."""

    kind = "none"
    # At evaluation a token's masked embedding depends on that token alone (lets a model
    # reuse per-word computations when it swaps one word; see CNNClassifier.substitution_logits).
    token_local = True

    def forward(self, embeddings: torch.Tensor, token_mask: torch.Tensor) -> MaskOutput:
        return MaskOutput(embeddings, None, embeddings.new_zeros(()))

    def token_importance(self, embeddings: torch.Tensor) -> torch.Tensor | None:
        return None


class VariationalWordMask(nn.Module):
    """VMASK: a Bernoulli keep/drop mask per word, inferred from its embedding.

    q(R_t | x_t) comes from an inference network Linear(d, h) - tanh -
    Linear(h, 2) over {drop, keep}. Training draws a relaxed sample with the
    Gumbel-softmax trick (appendix B, temperature ``tau``) so gradients reach
    the network; evaluation multiplies each embedding by the expectation
    E[q(R_t | x_t)] = q(R_t = 1 | x_t) (section 3.4), with no sampling.

    The regulariser is the negative entropy -H(q(R|x)), averaged over word
    positions only; with the Bernoulli(0.5) prior, KL(q || p0) = log 2 - H(q),
    so minimising CE + beta * (-H) is eq. 9 of the paper.

    Args:
        embed_dim: d, the embedding size.
        hidden_dim: h, the inference network's hidden size (the paper does not
            state it; MaskLens uses 100 for 50-d GloVe, 384 for MiniLM).
        tau: Gumbel-softmax temperature (not stated in the paper; 0.5 here).
    """

    kind = "vmask"
    token_local = True

    def __init__(self, embed_dim: int, hidden_dim: int = 100, tau: float = 0.5):
        super().__init__()
        self.inference = _scorer(embed_dim, hidden_dim, 2)
        self.tau = tau

    def log_probs(self, embeddings: torch.Tensor) -> torch.Tensor:
        """[..., 2] log q(R = drop | x), log q(R = keep | x)."""
        return F.log_softmax(self.inference(embeddings), dim=-1)

    def token_importance(self, embeddings: torch.Tensor) -> torch.Tensor:
        """[...] E[q(R|x)] = q(R = keep | x) for each embedding: a function of the word type."""
        return self.log_probs(embeddings)[..., 1].exp()

    def forward(self, embeddings: torch.Tensor, token_mask: torch.Tensor) -> MaskOutput:
        return bernoulli_mask(embeddings, token_mask, self.log_probs(embeddings), self.tau, self.training)


def bernoulli_mask(embeddings: torch.Tensor, token_mask: torch.Tensor, log_probs: torch.Tensor, tau: float,
                   training: bool) -> MaskOutput:
    """Apply per-token Bernoulli keep masks given log q(drop), log q(keep) [B, T, 2] (VMASK, E-VarM gate).

    Training multiplies each embedding [B, T, d] by a relaxed Gumbel-softmax sample (temperature
    ``tau``), evaluation by the expectation q(keep); positions outside ``token_mask`` [B, T] pass
    unchanged. The regulariser is -H(q) averaged over the masked tokens.
    """
    keep_prob = log_probs[..., 1].exp()
    keep = F.gumbel_softmax(log_probs, tau=tau, hard=False)[..., 1] if training else keep_prob
    keep = torch.where(token_mask, keep, torch.ones_like(keep))
    entropy = -(log_probs.exp() * log_probs).sum(-1)
    return MaskOutput(embeddings * keep.unsqueeze(-1), keep_prob * token_mask, -_masked_mean(entropy, token_mask))


class InformationBottleneckMask(nn.Module):
    """IBA readout bottleneck trained jointly with the classifier (VMASK appendix C).

    A network Linear(d, h) - tanh - Linear(h, 1) - sigmoid gives lambda_t in
    [0, 1]; the embedding is replaced by z_t = lambda_t x_t + (1 - lambda_t) eps_t,
    eps_t ~ N(mu, sigma^2) with per-dimension feature statistics mu, sigma of
    the training embeddings (set by :meth:`set_feature_statistics`). At
    evaluation the noise is replaced by its mean: z_t = lambda_t x_t + (1 - lambda_t) mu.

    Regulariser: the upper bound of I(Z; X) from Schulz et al. (2020),
    KL[p(z|x) || q(z)] with q(z) = N(mu, sigma^2). In standardised units
    (x~ = (x - mu) / sigma) p(z~|x) = N(lambda x~, (1 - lambda)^2), so per dimension
    KL = ((1 - lambda)^2 + (lambda x~)^2 - 1) / 2 - log(1 - lambda).
    It is summed over dimensions and averaged over word positions.
    """

    kind = "iba"
    token_local = True

    def __init__(self, embed_dim: int, hidden_dim: int = 100):
        super().__init__()
        self.readout = _scorer(embed_dim, hidden_dim, 1)
        # Schulz et al. start the bottleneck almost open (alpha = 5, lambda = 0.993) so the
        # classifier first sees the signal and the KL term then closes what is not needed.
        nn.init.constant_(self.readout[-1].bias, 5.0)
        self.register_buffer("feature_mean", torch.zeros(embed_dim))
        self.register_buffer("feature_std", torch.ones(embed_dim))

    def set_feature_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Set mu and sigma ([d] each) from the training data's word embeddings."""
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std.clamp(min=1e-6))

    def token_importance(self, embeddings: torch.Tensor) -> torch.Tensor:
        """[...] lambda for each embedding."""
        return torch.sigmoid(self.readout(embeddings)).squeeze(-1)

    def forward(self, embeddings: torch.Tensor, token_mask: torch.Tensor) -> MaskOutput:
        lam = self.token_importance(embeddings)
        lam = torch.where(token_mask, lam, torch.ones_like(lam))
        if self.training:
            noise = self.feature_mean + self.feature_std * torch.randn_like(embeddings)
        else:
            noise = self.feature_mean.expand_as(embeddings)
        gate = lam.unsqueeze(-1)
        masked = gate * embeddings + (1 - gate) * noise
        standardised = (embeddings - self.feature_mean) / self.feature_std
        one_minus = (1 - gate).clamp(min=1e-6)
        kl = 0.5 * (one_minus ** 2 + (gate * standardised) ** 2 - 1) - torch.log(one_minus)
        return MaskOutput(masked, lam * token_mask, _masked_mean(kl.sum(-1), token_mask))


class L2XMask(nn.Module):
    """L2X: select k words per text with a relaxed subset sampler (Chen et al. 2018).

    A network Linear(d, h) - tanh - Linear(h, 1) scores every word. Training
    draws k Gumbel-softmax samples over the text's word positions (temperature
    ``tau``) and keeps, per position, the largest of the k samples: a
    continuous relaxation of a k-hot mask w, and x' = w * x (VMASK appendix C).
    Evaluation uses the hard top-k mask. The loss is plain cross-entropy (no
    regulariser). ``k`` is not given in the VMASK paper; MaskLens defaults to
    10 words (Chen et al. used 10 for IMDB), texts with at most k words keep all.
    """

    kind = "l2x"
    token_local = False  # the hard top-k couples every word of the text

    def __init__(self, embed_dim: int, hidden_dim: int = 100, k: int = 10, tau: float = 0.5):
        super().__init__()
        self.scorer = _scorer(embed_dim, hidden_dim, 1)
        self.k, self.tau = k, tau

    def token_importance(self, embeddings: torch.Tensor) -> torch.Tensor:
        """[...] sigmoid of each word's score: a type-level importance for display."""
        return torch.sigmoid(self.scorer(embeddings)).squeeze(-1)

    def _selection(self, logits: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        logits = logits.masked_fill(~token_mask, -math.inf)
        if self.training:
            gumbel = -torch.log(-torch.log(torch.rand(self.k, *logits.shape, device=logits.device).clamp(1e-10, 1)))
            samples = torch.softmax((logits.unsqueeze(0) + gumbel) / self.tau, dim=-1)
            return samples.nan_to_num(0.0).amax(dim=0)
        k = min(self.k, logits.shape[-1])
        top = logits.topk(k, dim=-1).indices
        hard = torch.zeros_like(logits).scatter(-1, top, 1.0)
        return hard * token_mask

    def forward(self, embeddings: torch.Tensor, token_mask: torch.Tensor) -> MaskOutput:
        logits = self.scorer(embeddings).squeeze(-1)
        selection = self._selection(logits, token_mask)
        weight = torch.where(token_mask, selection, torch.ones_like(selection))
        return MaskOutput(embeddings * weight.unsqueeze(-1), torch.sigmoid(logits) * token_mask,
                          embeddings.new_zeros(()))


MASK_LAYERS = {"none": NoMask, "vmask": VariationalWordMask, "iba": InformationBottleneckMask, "l2x": L2XMask}
