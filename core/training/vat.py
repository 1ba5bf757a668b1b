"""VAT's iterative training: a learner and a compressor trained in turn (Zhou et al. 2021, section 3).

Schedule (:func:`phase_plan`): first ``epochs`` epochs of the plain attention
model with every parameter trained (iteration 0 of the paper's Table 6, i.e.
the ATT model), then ``iterations`` rounds of

1. compressor (``"compress"``): ``phase_epochs`` epochs minimising eq. 8,
   CE(q(y|z)) + beta * KL[p(z|R) || N(0, I)]; only the attention (W_a, v_a)
   and the compressor (u, sigma, q(y|z)) change; encoder and learner head are
   frozen ("we fix the encoder's parameters");
2. learner (``"learn"``): ``phase_epochs`` epochs of CE of the learner's MLP
   on R; the attention is frozen ("we fix the attention's parameters"), the
   encoder and head are trained; the compressor is not used.

Choices the paper leaves open, made here: the warm-up (iteration 0) lasts
``epochs`` and the iterations start from its best dev epoch; each phase
lasts one epoch; the learner's head, not q(y|z), makes the model's
predictions (the paper evaluates the learner); the dev accuracy is measured
after every epoch of every phase and the best epoch after the warm-up is
kept (so a VAT model has been through at least one compressor phase; the
paper's Table 6 reports accuracy per iteration). Default iterations:
1 for LSTM, 2 for MiniLM, the best columns of Table 6; beta = 0.1 from the
paper's grid {0.01, 0.1, 1, 10}.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.data.tokenizers import EncodedBatch
from core.models.architectures import ARCHITECTURE_SPECS, names_where
from core.models.attention import vib_loss
from core.models.base import MaskedTextClassifier

# Architecture -> the encoder parameters the learner phase trains (a snapshot of the architecture specs).
ENCODER_PREFIXES = {name: spec.vat_encoder_prefixes for name, spec in ARCHITECTURE_SPECS.items()
                    if spec.vat_encoder_prefixes}
PHASES = ("joint", "compress", "learn")


def phase_plan(epochs: int, iterations: int, phase_epochs: int = 1) -> list[str]:
    """The phase of every epoch: ``epochs`` x joint, then ``iterations`` x (compress, learn)."""
    return ["joint"] * epochs + (["compress"] * phase_epochs + ["learn"] * phase_epochs) * iterations


def trainable_prefixes(phase: str, architecture: str) -> tuple[str, ...] | None:
    """Names (prefixes) of the parameters a phase updates; None = every trainable parameter.

    Raises:
        ValueError: an unknown phase or an architecture without a VAT learner.
    """
    spec = ARCHITECTURE_SPECS.get(architecture)
    if spec is None or not spec.vat_encoder_prefixes:
        with_learner = names_where(lambda other: bool(other.vat_encoder_prefixes))
        raise ValueError(f"VAT needs architecture {' or '.join(with_learner)}, not {architecture!r}")
    if phase == "joint":
        return None
    if phase == "compress":
        return ("attention.", "compressor.")
    if phase == "learn":
        return spec.vat_encoder_prefixes + ("head.",)
    raise ValueError(f"unknown VAT phase {phase!r}; choose one of {', '.join(PHASES)}")


def phase_loss(net: MaskedTextClassifier, batch: EncodedBatch, labels: torch.Tensor, phase: str,
               beta: float) -> torch.Tensor:
    """The loss of one batch in ``phase``: eq. 8 for ``compress``, the learner's CE otherwise."""
    if phase != "compress":
        return F.cross_entropy(net(batch.input_ids, batch.attention_mask, batch.token_mask).logits, labels)
    compressor = getattr(net, "compressor", None)
    if compressor is None:
        raise ValueError("the compress phase needs a model built with a VIB compressor (model_config['compressor'])")
    masked = net.mask(net.embed(batch.input_ids), batch.token_mask).masked
    return vib_loss(compressor(net.represent(masked, batch.attention_mask.bool())), labels, beta)
