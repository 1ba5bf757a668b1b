"""E-VarM (enhanced variational word masks): a gate over all encoder layers, on MiniLM.

Stage 1 of E-VarM (section 3.2): the text's embeddings x go through the
encoder once; the hidden states of every layer h(0) .. h(L) are concatenated
per token (eq. 1) and a two-hidden-layer MLP gives per-token Bernoulli keep
probabilities alpha_i (eq. 2-3). Training draws a Gumbel-softmax relaxation
of r_i (eq. 4, temperature ``tau``); evaluation uses the expectation
E[r_i] = alpha_i by default (``inference="soft"``) or the paper's hard keep/drop
r_i = one_hot(argmax_j alpha_i,j) of eq. 3 (``inference="hard"``, set on a loaded
model with :func:`set_gate_inference`); the classifier then reads z = r * x (eq. 5).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.models.base import ClassifierOutput
from core.models.masks import MaskOutput, bernoulli_mask
from core.models.minilm import MiniLMClassifier

INFERENCE_MODES = ("soft", "hard")


def _checked_inference(mode: str) -> str:
    if mode not in INFERENCE_MODES:
        raise ValueError(f"unknown E-VarM gate inference {mode!r}; choose one of {', '.join(INFERENCE_MODES)}")
    return mode


def hard_keep(log_probs: torch.Tensor) -> torch.Tensor:
    """[B, T] 0/1 keep factors r_i = argmax_j alpha_i,j (eq. 3) from log q(drop), log q(keep) [B, T, 2].

    The argmax of (1 - alpha_i, alpha_i) is "keep" exactly when alpha_i > 0.5; a tie
    (alpha_i = 0.5) drops, as argmax takes the first index (j = 0, drop). The same rule as
    stage 2's r in :func:`core.training.evarm.contrastive_views`.
    """
    return (log_probs[..., 1].exp() > 0.5).to(log_probs.dtype)


class EVarMGate(nn.Module):
    """The E-VarM gate g_phi: [h(0) .. h(L)] per token -> q(r_i | x) over {drop, keep}.

    Two hidden layers (the paper says "a two-hidden-layer MLP" without sizes
    or activation; MaskLens uses ``hidden_dim`` units and tanh, as VMASK's
    inference network). The regulariser is eq. 8's second term
    sum p(r|x) log p(r|x) = -H(q(r|x)), averaged over word pieces (the paper
    sums over words; the mean keeps beta comparable across text lengths).

    Initialisation (not stated in the paper): the output bias starts at
    log-odds ``keep_init`` = 2 for keep (alpha ~ 0.88), so the pretrained
    encoder first sees nearly intact input and the gate then learns what to
    drop, as Schulz et al. start IBA almost open. With alpha = 0.5 everywhere
    at the start, short CPU runs spent their first epoch recovering from
    randomly halved embeddings.

    Evaluation (``inference``, settable at any time, e.g. after loading; training
    always draws the relaxed sample of eq. 4 whatever it says):

    - ``"soft"`` (default, what every stored MaskLens number used): each word piece's
      embedding is multiplied by alpha_i = E[r_i | x], as VMASK's section 3.4 does.
      Deviation: the paper's r at inference is binary (eq. 3);
    - ``"hard"``: by r_i in {0, 1}, the one-hot argmax of eq. 3 (keep iff alpha_i > 0.5,
      see :func:`hard_keep`): the paper's binary gate at inference.

    Importance and regulariser are alpha_i and -H(q) under both modes.

    Args:
        state_dim: width of one layer's state (384 for MiniLM).
        num_states: L + 1 (embedding output and every layer).
        hidden_dim: units of each hidden layer.
        tau: Gumbel-softmax temperature (not stated in the paper; 0.5 as VMASK here).
        keep_init: initial log-odds of keeping a piece.
        inference: ``"soft"`` or ``"hard"`` (see above); ValueError for anything else.
    """

    kind = "evarm"
    token_local = False  # the gate reads every layer, so a token's keep probability depends on its context

    def __init__(self, state_dim: int, num_states: int, hidden_dim: int = 384, tau: float = 0.5,
                 keep_init: float = 2.0, inference: str = "soft"):
        super().__init__()
        self.num_states, self.tau = num_states, tau
        self.inference = inference
        self.gate = nn.Sequential(nn.Linear(state_dim * num_states, hidden_dim), nn.Tanh(),
                                  nn.Linear(hidden_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, 2))
        with torch.no_grad():
            self.gate[-1].bias.copy_(torch.tensor([0.0, keep_init]))

    @property
    def inference(self) -> str:
        """How evaluation applies the gate: ``"soft"`` (alpha) or ``"hard"`` (eq. 3's 0/1 r)."""
        return self._inference

    @inference.setter
    def inference(self, mode: str) -> None:
        self._inference = _checked_inference(mode)

    def log_probs(self, states: torch.Tensor) -> torch.Tensor:
        """[B, T, 2] log q(r = drop), log q(r = keep) from concatenated states [B, T, state_dim * num_states]."""
        return F.log_softmax(self.gate(states), dim=-1)

    def token_importance(self, embeddings: torch.Tensor) -> None:
        """The gate needs the encoder's states, not embeddings alone: see :meth:`EVarMClassifier.token_importance`."""
        return None

    def forward(self, embeddings: torch.Tensor, token_mask: torch.Tensor,
                states: torch.Tensor | None = None) -> MaskOutput:
        """z = r * x [B, T, d] at word pieces; other positions pass.

        r is relaxed-sampled in training; at evaluation it is alpha (``inference="soft"``)
        or the 0/1 argmax of eq. 3 (``"hard"``).
        """
        if states is None:
            raise ValueError("the E-VarM gate needs the encoder's hidden states of every layer")
        log_probs = self.log_probs(states)
        out = bernoulli_mask(embeddings, token_mask, log_probs, self.tau, self.training)
        if self.training or self.inference == "soft":
            return out
        keep = torch.where(token_mask, hard_keep(log_probs), torch.ones_like(log_probs[..., 1]))
        return MaskOutput(embeddings * keep.unsqueeze(-1), out.importance, out.regularizer)


class EVarMClassifier(MiniLMClassifier):
    """MiniLM classifier whose mask slot is the :class:`EVarMGate` (the E-VarM paper, section 3.2).

    Every forward runs the encoder twice: once over x for the gate's input
    (gradients flow through it into the encoder too, since the paper trains
    p_theta,phi(r|x) jointly), once over z = r * x for the prediction.
    Deviation: MiniLM-L6 (7 hidden-state sets of 384) instead of BERT-base.
    """

    def all_layer_states(self, embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[B, T, hidden * (L + 1)]: h(0) .. h(L) of the unmasked embeddings, concatenated per token (eq. 1)."""
        out = self.encoder(inputs_embeds=embeddings, attention_mask=attention_mask.long(), output_hidden_states=True)
        return torch.cat(out.hidden_states, dim=-1)

    def gate(self, embeddings: torch.Tensor, attention_mask: torch.Tensor,
             token_mask: torch.Tensor | None = None) -> MaskOutput:
        """The gate's output for embeddings [B, T, d] (masked embeddings, alpha, regulariser)."""
        attention_mask = attention_mask.bool()
        token_mask = attention_mask if token_mask is None else token_mask.bool()
        return self.mask(embeddings, token_mask, self.all_layer_states(embeddings, attention_mask))

    def forward_embeddings(self, embeddings: torch.Tensor, attention_mask: torch.Tensor,
                           token_mask: torch.Tensor | None = None) -> ClassifierOutput:
        mask_out = self.gate(embeddings, attention_mask, token_mask)
        return ClassifierOutput(self.head(self.represent(mask_out.masked, attention_mask.bool())), mask_out)

    def token_importance(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                         token_mask: torch.Tensor | None = None) -> torch.Tensor:
        """alpha [B, T] = E[r_i] (the gate's keep probability) at word pieces, 0 elsewhere."""
        return self.gate(self.embed(input_ids), attention_mask, token_mask).importance


def set_gate_inference(model, mode: str) -> str:
    """Make every E-VarM gate of ``model`` evaluate with ``mode`` (``"soft"`` or ``"hard"``); no retraining.

    Args:
        model: a loaded bundle (its ``.model``) or the network itself.
        mode: see :class:`EVarMGate`.

    Returns:
        The mode the gates had before (to restore it).

    Raises:
        ValueError: an unknown ``mode``, or a model without an E-VarM gate.
    """
    _checked_inference(mode)
    net = getattr(model, "model", model)
    gates = [m for m in net.modules() if isinstance(m, EVarMGate)] if isinstance(net, nn.Module) else []
    if not gates:
        raise ValueError(f"{getattr(model, 'name', '') or 'this model'} has no E-VarM gate "
                         "(train with evarm or evarm_mask)")
    previous = gates[0].inference
    for gate in gates:
        gate.inference = mode
    return previous
