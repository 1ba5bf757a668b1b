"""Training methods of the VMASK paper: what sits in the mask slot and what the loss adds.

==========  ===========================  =============================================
method      mask slot                    loss
==========  ===========================  =============================================
base        empty                        CE
l2          empty                        CE + l2_weight * ||theta||^2 (trainable params)
vmask       VariationalWordMask          CE + beta_t * (-H(q(R|x))), beta annealed
iba         InformationBottleneckMask    CE + beta * KL[p(z|x) || q(z)]
l2x         L2XMask                      CE
==========  ===========================  =============================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass

METHODS = ("base", "l2", "vmask", "iba", "l2x")


@dataclass(frozen=True)
class MethodSpec:
    """How a method configures a model and its loss."""

    mask_kind: str
    uses_beta: bool
    has_global_importance: bool


SPECS = {
    "base": MethodSpec("none", False, False),
    "l2": MethodSpec("none", False, False),
    "vmask": MethodSpec("vmask", True, True),
    "iba": MethodSpec("iba", True, True),
    "l2x": MethodSpec("l2x", False, True),
}


def method_spec(method: str) -> MethodSpec:
    """The spec of ``method``; ValueError naming the choices for an unknown one."""
    if method not in SPECS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return SPECS[method]


def annealed_beta(step: int, total_steps: int, beta_start: float, beta_end: float) -> float:
    """KL-cost annealing for VMASK: beta falls geometrically from ``beta_start`` to ``beta_end``.

    The paper anneals beta (Bowman et al. 2016) without giving the schedule;
    MaskLens interpolates log(beta) linearly over the training steps, so
    beta(0) = beta_start and beta(total_steps - 1) = beta_end.
    """
    if total_steps <= 1:
        return beta_end
    fraction = min(max(step / (total_steps - 1), 0.0), 1.0)
    return math.exp(math.log(beta_start) + fraction * (math.log(beta_end) - math.log(beta_start)))
