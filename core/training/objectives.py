"""Per-method loss terms and schedules of the single-text training loop (:mod:`core.training.trainer`).

- :func:`epoch_phases`: one ``"train"`` phase per epoch, or VAT's warm-up and compressor/learner
  rounds (:mod:`core.training.vat`), and :func:`phase_scope`, what a phase may change;
- :func:`beta_at`: VMASK's annealed weight (``step`` or ``geometric`` schedule,
  :mod:`core.training.methods`), or the fixed ``vib_beta`` of VAT and E-VarM;
- :func:`batch_loss`: CE plus VMASK's or IBA's regulariser or L2's weight penalty, VAT's phase losses;
- :func:`train_step`: one optimisation step (E-VarM's two stages, :mod:`core.training.evarm`);
- :func:`set_iba_statistics`: IBA's q(z), set once from the training set before the first epoch.

The loop calls these and knows no method by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from core.data.tokenizers import EncodedBatch
from core.models.factory import LoadedModel
from core.models.masks import InformationBottleneckMask
from core.training import evarm as evarm_training
from core.training import vat as vat_training
from core.training.batches import batch_rows
from core.training.freezing import optimizer_step, trainable_only
from core.training.methods import annealed_beta, step_beta

if TYPE_CHECKING:
    from core.training.settings import TrainSettings

FIXED_BETA_METHODS = ("vat", "evarm", "evarm_mask")  # beta is vib_beta throughout
EVARM_METHODS = ("evarm", "evarm_mask")
WARM_UP, TRAIN = "joint", "train"


def epoch_phases(settings: TrainSettings) -> list[str]:
    """The phase of each epoch: ``"train"`` for one-stage methods; VAT's schedule (:func:`vat.phase_plan`)."""
    if settings.method == "vat":
        return vat_training.phase_plan(settings.epochs, settings.vat_iterations, settings.vat_phase_epochs)
    return [TRAIN] * settings.epochs


def ends_warm_up(phases: list[str], epoch: int) -> bool:
    """True for the first epoch (1-based) after VAT's attention warm-up: its iterations start there."""
    return phases[epoch - 1] != WARM_UP and epoch > 1 and phases[epoch - 2] == WARM_UP


def phase_scope(model: LoadedModel, settings: TrainSettings, phase: str):
    """Freezes what ``phase`` must not change (VAT: encoder+head while compressing, attention while learning)."""
    prefixes = (vat_training.trainable_prefixes(phase, settings.architecture) if settings.method == "vat" else None)
    return trainable_only(model.model, prefixes)


def beta_at(settings: TrainSettings, step: int, total_steps: int, epoch: int) -> float:
    """The regulariser weight of a step: ``vib_beta`` (VAT, E-VarM) or VMASK's scheduled beta."""
    if settings.method in FIXED_BETA_METHODS:
        return settings.vib_beta
    if settings.beta_schedule == "geometric":
        return annealed_beta(step, total_steps, settings.beta_start, settings.beta_end)
    return step_beta(epoch, settings.beta_start, settings.beta_end, settings.beta_decrement, settings.beta_every)


def batch_loss(model: LoadedModel, settings: TrainSettings, batch: EncodedBatch, labels: torch.Tensor,
               beta: float, phase: str = TRAIN) -> torch.Tensor:
    """The loss of one batch: VAT's phase loss, or CE plus the method's term (VMASK, IBA, L2)."""
    if settings.method == "vat":
        return vat_training.phase_loss(model.model, batch, labels, phase, settings.vib_beta)
    out = model.model(batch.input_ids, batch.attention_mask, batch.token_mask)
    loss = F.cross_entropy(out.logits, labels)
    if settings.method == "vmask":
        loss = loss + beta * out.mask.regularizer
    elif settings.method == "iba":
        loss = loss + settings.iba_beta * out.mask.regularizer
    elif settings.method == "l2":
        loss = loss + settings.l2_weight * sum((p ** 2).sum() for p in model.model.parameters() if p.requires_grad)
    return loss


def train_step(model: LoadedModel, settings: TrainSettings, optimizer: torch.optim.Optimizer, batch: EncodedBatch,
               labels: torch.Tensor, beta: float, phase: str) -> dict[str, float]:
    """One optimisation step (two for E-VarM); returns ``{"loss": ...}`` (E-VarM adds ``contrastive_loss``)."""
    if settings.method in EVARM_METHODS:
        return evarm_training.evarm_step(model.model, optimizer, batch, labels, settings.vib_beta, settings.supcon_tau,
                                         settings.clip_norm, contrastive=settings.method == "evarm")
    return {"loss": optimizer_step(model.model, optimizer, batch_loss(model, settings, batch, labels, beta, phase),
                                   settings.clip_norm)}


@torch.no_grad()
def set_iba_statistics(model: LoadedModel, encoded: EncodedBatch) -> None:
    """Per-dimension mean and std of the training set's word embeddings (IBA's q(z)); other masks: nothing."""
    mask = model.model.mask
    if not isinstance(mask, InformationBottleneckMask):
        return
    total, total_sq, count = 0.0, 0.0, 0
    for start in range(0, len(encoded.input_ids), 512):
        batch = batch_rows(encoded, slice(start, start + 512), 1).to(model.device)
        emb = model.model.embed(batch.input_ids)[batch.token_mask]
        total, total_sq, count = total + emb.sum(0), total_sq + (emb ** 2).sum(0), count + emb.shape[0]
    mean = total / max(count, 1)
    mask.set_feature_statistics(mean, (total_sq / max(count, 1) - mean ** 2).clamp(min=0).sqrt())

