"""The E-VarM gate's expectation as an explanation (the E-VarM paper, section 3.2).

A word's score is E[r_i] = alpha_i, the gate's keep probability, computed
from every encoder layer of the text (so unlike VMASK it depends on the
context), averaged over the word's pieces. Unsigned in [0, 1], the same for
every target class. Only models trained with ``evarm`` or ``evarm_mask`` have
a gate.
"""

from __future__ import annotations

from core.explain.mask import VMaskExplainer
from core.models.factory import LoadedModel


class EVarMExplainer(VMaskExplainer):
    """Per-word E-VarM gate expectation (mean over the word's pieces), unit "keep probability".

    Args:
        model: a model trained with ``evarm`` or ``evarm_mask`` (``ExplainError`` otherwise).
    """

    name = "evarm"
    label = "E-VarM gate E[r|x]"

    @classmethod
    def unsupported_reason(cls, model: LoadedModel) -> str | None:
        if model.config.get("mask_config", {}).get("kind") == "evarm":
            return None
        return (f"evarm reads the E-VarM gate, but {model.name or 'this model'} has none "
                f"(method {model.config.get('method', 'base')!r}; train with evarm or evarm_mask)")
