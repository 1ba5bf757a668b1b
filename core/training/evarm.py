"""E-VarM's batch-level iteration of its two stages (the E-VarM paper, sections 3.2-3.3, 4.4).

For every batch:

1. variational word extraction: the gate and the classifier are trained
   jointly on L_VIB (eq. 8) = CE(q(y | r, x)) + beta * sum p(r|x) log p(r|x)
   (the negative entropy, averaged over word pieces here);
2. contrastive representation optimisation (skipped by ``evarm_mask``, the
   paper's E-VarM_MASK): the gate is frozen and the encoder is trained on the
   supervised contrastive loss L_CON (eq. 10) over 3N samples, the N inputs
   x, their compressed forms z = r * x and the extra positives x' (eq. 9).

Choices the paper leaves open, made here:

- r in stage 2 is the gate's hard decision r_i = 1[alpha_i > 0.5] (eq. 3);
  the task-irrelevant pieces are those with r_i = 0.
- x' = x - R(x - z) zeroes k of the m task-irrelevant pieces, k uniform in
  1..m, chosen uniformly (x' = x when m = 0); word pieces, not whole words.
- h_i is the sentence vector the classifier head reads (mean of MiniLM's last
  layer), L2-normalised as in Khosla et al. (2020) so h_i . h_j is a cosine.
- Eq. 10 writes 1[y_i != y_j] for the positives; the positives are the
  same-class samples (the paper's text and Khosla et al.), so 1[y_i = y_j] is
  used. L_CON is averaged over anchors instead of summed (same minimiser; the
  loss scale does not grow with the batch).
- beta = 0.1 (the paper's grid: 0.1, 0.5, 1, 10, 50), contrastive tau = 0.5
  (grid 0.1 .. 0.9), Gumbel tau = 0.5; Adam with MaskLens' MiniLM rates
  (encoder 3e-5, gate and head 1e-3; the paper: 1e-5 everywhere), batch 32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.data.tokenizers import EncodedBatch
from core.models.evarm import EVarMClassifier
from core.training.freezing import frozen, optimizer_step

GATE_PREFIXES = ("mask.",)


def supcon_loss(representations: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """Supervised contrastive loss (E-VarM eq. 10, Khosla et al. 2020), averaged over anchors.

    For anchor i with positives P(i) = {j != i : y_j = y_i}:
    l_i = -1/|P(i)| * sum_{j in P(i)} log( exp(h_i.h_j / t) / sum_{k != i} exp(h_i.h_k / t) ).

    Args:
        representations: [M, D] h (used as given; normalise first for cosine similarities).
        labels: [M] class of each row.
        temperature: t > 0.

    Returns:
        Scalar mean of l_i over anchors that have at least one positive (0 when none has).
    """
    logits = representations @ representations.T / temperature
    not_self = ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    log_prob = logits - torch.logsumexp(logits.masked_fill(~not_self, float("-inf")), dim=1, keepdim=True)
    positives = (labels.unsqueeze(0) == labels.unsqueeze(1)) & not_self
    counts = positives.sum(1)
    per_anchor = -(log_prob * positives).sum(1) / counts.clamp(min=1)
    has_positive = counts > 0
    if not has_positive.any():
        return representations.sum() * 0.0
    return per_anchor[has_positive].mean()


def sample_irrelevant_drops(keep: torch.Tensor, token_mask: torch.Tensor,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """R(x - z) of eq. 9: which task-irrelevant positions x' masks, [B, T] bool.

    Args:
        keep: [B, T] bool, the gate's hard decision r (True = task-specific).
        token_mask: [B, T] bool, word-piece positions.

    Returns:
        Per row, k of its m irrelevant positions (token_mask & ~keep), k uniform in 1..m,
        chosen uniformly; none when m = 0.
    """
    irrelevant = token_mask & ~keep
    m = irrelevant.sum(1)
    noise = torch.rand(keep.shape, generator=generator, device="cpu").to(keep.device)
    scores = noise.masked_fill(~irrelevant, 2.0)                           # irrelevant ones sort first
    rank = scores.argsort(dim=1).argsort(dim=1)
    k = (torch.rand(m.shape, generator=generator, device="cpu").to(keep.device) * m).floor().long() + 1
    return irrelevant & (rank < k.unsqueeze(1))


def contrastive_views(net: EVarMClassifier, batch: EncodedBatch) -> torch.Tensor:
    """The 3N embedding samples [x; x'; z] ([3B, T, d]) of a batch; the gate runs without gradients."""
    embeddings = net.embed(batch.input_ids)
    token_mask = batch.token_mask
    with torch.no_grad():
        alpha = net.gate(embeddings, batch.attention_mask, token_mask).importance
    keep = (alpha > 0.5) | ~token_mask
    z = embeddings * keep.unsqueeze(-1)
    x_prime = embeddings * (~sample_irrelevant_drops(keep, token_mask)).unsqueeze(-1)
    return torch.cat([embeddings, x_prime, z])


def vib_stage_loss(net: EVarMClassifier, batch: EncodedBatch, labels: torch.Tensor, beta: float) -> torch.Tensor:
    """L_VIB (eq. 8) of one batch: CE + beta * (-H(q(r|x)))."""
    out = net(batch.input_ids, batch.attention_mask, batch.token_mask)
    return F.cross_entropy(out.logits, labels) + beta * out.mask.regularizer


def contrastive_stage_loss(net: EVarMClassifier, batch: EncodedBatch, labels: torch.Tensor,
                           temperature: float) -> torch.Tensor:
    """L_CON (eq. 10) of one batch over its x, x', z samples (call inside :func:`gate_frozen`)."""
    views = contrastive_views(net, batch)
    attention = batch.attention_mask.bool().repeat(3, 1)
    representations = F.normalize(net.represent(views, attention), dim=-1)
    return supcon_loss(representations, labels.repeat(3), temperature)


def gate_frozen(net: EVarMClassifier):
    """Context in which the gate's parameters cannot change (stage 2)."""
    return frozen(net, GATE_PREFIXES)


def evarm_step(net: EVarMClassifier, optimizer: torch.optim.Optimizer, batch: EncodedBatch, labels: torch.Tensor,
               beta: float, temperature: float, clip_norm: float, contrastive: bool = True) -> dict[str, float]:
    """One batch of E-VarM (both stages, each with its own optimiser step) or of E-VarM_MASK (stage 1 only).

    Returns:
        ``{"loss": L_VIB}`` plus ``"contrastive_loss": L_CON`` when stage 2 ran.
    """
    result = {"loss": optimizer_step(net, optimizer, vib_stage_loss(net, batch, labels, beta), clip_norm)}
    if contrastive:
        with gate_frozen(net):
            loss = contrastive_stage_loss(net, batch, labels, temperature)
            result["contrastive_loss"] = optimizer_step(net, optimizer, loss, clip_norm)
    return result
