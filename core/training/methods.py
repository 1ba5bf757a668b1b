"""Training methods (VMASK, VAT and E-VarM papers): what sits in the mask slot and what the loss adds.

==========  ===========================  =============================================
method      mask slot                    loss
==========  ===========================  =============================================
base        empty                        CE
l2          empty                        CE + l2_weight * ||theta||^2 (trainable params)
vmask       VariationalWordMask          CE + beta_t * (-H(q(R|x))), beta annealed
iba         InformationBottleneckMask    CE + beta * KL[p(z|x) || q(z)]
l2x         L2XMask                      CE
att         empty (attention pooling)    CE (LSTM/MiniLM-ATT, the VAT paper's baseline)
vat         empty (attention pooling)    ATT epochs, then iterations of: compressor epochs
                                         CE(q(y|z)) + beta * KL (encoder frozen), learner
                                         epochs CE (attention frozen) (core.training.vat)
evarm       EVarMGate (all layers)       per batch: CE + beta * (-H(q(r|x))), then SupCon
                                         over x, z, x' with the gate frozen (core.training.evarm)
evarm_mask  EVarMGate (all layers)       CE + beta * (-H(q(r|x))) only (E-VarM_MASK)
==========  ===========================  =============================================

The loss terms and schedules themselves are applied by :mod:`core.training.objectives`; which
architectures a method trains is declared by each architecture's spec
(:attr:`core.models.architectures.ArchitectureSpec.methods`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.models.architectures import ARCHITECTURE_SPECS

METHODS = ("base", "l2", "vmask", "iba", "l2x", "att", "vat", "evarm", "evarm_mask")


@dataclass(frozen=True)
class MethodSpec:
    """How a method configures a model and its loss (which architectures it trains: their specs say)."""

    name: str
    mask_kind: str
    uses_beta: bool
    has_global_importance: bool
    pooling: str | None = None  # "attention" for the VAT-paper models; None: the architecture's own

    @property
    def architectures(self) -> tuple[str, ...]:
        """The single-text architectures whose spec (:class:`~core.models.architectures.ArchitectureSpec`) lists it."""
        return tuple(name for name, spec in ARCHITECTURE_SPECS.items() if not spec.pair and self.name in spec.methods)


SPECS = {spec.name: spec for spec in (
    MethodSpec("base", "none", False, False),
    MethodSpec("l2", "none", False, False),
    MethodSpec("vmask", "vmask", True, True),
    MethodSpec("iba", "iba", True, True),
    MethodSpec("l2x", "l2x", False, True),
    MethodSpec("att", "none", False, False, "attention"),
    MethodSpec("vat", "none", True, False, "attention"),
    MethodSpec("evarm", "evarm", True, True),
    MethodSpec("evarm_mask", "evarm", True, True),
)}


def method_spec(method: str) -> MethodSpec:
    """The spec of ``method``; ValueError naming the choices for an unknown one."""
    if method not in SPECS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return SPECS[method]


def check_architecture(method: str, architecture: str) -> None:
    """ValueError when ``method`` cannot train ``architecture`` (e.g. evarm needs minilm's layers)."""
    allowed = method_spec(method).architectures
    if architecture not in allowed:
        raise ValueError(f"method {method!r} needs architecture {' or '.join(allowed)}, not {architecture!r}")


BETA_SCHEDULES = ("step", "geometric")


def annealed_beta(step: int, total_steps: int, beta_start: float, beta_end: float) -> float:
    """The ``geometric`` schedule: beta falls geometrically from ``beta_start`` to ``beta_end``.

    log(beta) is interpolated linearly over the training steps, so beta(0) = beta_start and
    beta(total_steps - 1) = beta_end. MaskLens's default before the authors' rule was known;
    kept as an option (it closes the mask's entropy pressure within a short run, leaving the
    masks nearly all open).
    """
    if total_steps <= 1:
        return beta_end
    fraction = min(max(step / (total_steps - 1), 0.0), 1.0)
    return math.exp(math.log(beta_start) + fraction * (math.log(beta_end) - math.log(beta_start)))


def step_beta(epoch: int, beta_start: float, beta_end: float, decrement: float, every: int) -> float:
    """The ``step`` schedule of the VMASK authors' released training scripts (the default).

    beta starts at ``beta_start`` and, after every ``every`` epochs, falls by ``decrement``
    while it is above ``beta_end`` (the scripts: 1.0, -0.099 every 10 epochs for the CNN and
    LSTM, every epoch for BERT), never below ``beta_end``. With the scripts' 100 epochs beta
    is 1.0 for epochs 1-10, 0.901 for 11-20, ..., 0.109 for 91-100.

    Args:
        epoch: 1-based epoch.
        beta_start, beta_end: first value and floor (the scripts' floor test is ``beta > 0.01``).
        decrement: subtracted after every ``every`` epochs.
        every: epochs between two decrements (>= 1).
    """
    beta = beta_start
    for _ in range((epoch - 1) // every):
        if beta <= beta_end + 1e-12:  # the scripts compare in floating point; 1 - 10 * 0.099 is the floor
            break
        beta = max(beta - decrement, beta_end)
    return beta
