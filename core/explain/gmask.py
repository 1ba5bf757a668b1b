"""IMASK and GMASK (Chen et al. 2021, "Explaining Neural Network Predictions on Sentence Pairs via
Learning Word-Group Masks"), learned per example on a sentence-pair model's word embeddings.

**IMASK** (section 3.3, the individual word masks of Chen & Ji 2020): one Bernoulli keep mask
R_j per word of A and B with keep probability sigmoid(r_j). Each step draws ``n_samples`` relaxed
samples (binary Gumbel-softmax, temperature ``tau``) in one batch, multiplies them into the word
embeddings (eq. 1) and minimises CE(f(x (.) R), y) - beta * mean_j H(R_j) (the VMASK objective:
KL to a Bernoulli(0.5) prior = log 2 - H). The score of a word is E[R_j].

**GMASK** (section 3.2): on the top-k IMASK words (k = 10; at least one from each text) with
k1 from A and k2 from B, t = min(k1, k2) groups. Z_j ~ Cat(phi_j) says which group word j is in,
G ~ Cat(psi) which group is kept; a mask sample is w_j = sum_i z_j(i) g(i) (eq. 2). Both are
sampled with the Gumbel-softmax trick (appendix A), ``n_samples`` per step in one batch, and
phi, psi (softmax of free logits, initialised uniform 1/t as in section 3.3) minimise eq. 7::

    CE(y, f(x (.) w)) - gamma1 * (H(Z_U) + H(Z_L)) + gamma2 * H(G),   gamma1 = 10, gamma2 = 1

with phi_U / phi_L the mean of phi over A's / B's words (eq. 6). Words outside the top k are
masked out (w = 0) while GMASK learns. The weighted attribution is theta_j = sum_i phi_j(i) psi(i)
(eq. 8). Words outside the top k get theta = 1e-3 * min(selected theta) * E[R_j] (our choice, so
that they rank below every grouped word and among themselves by IMASK; the paper leaves them
unranked).

Choices the paper leaves open (documented deviations): Adam with lr 0.1, a fixed number of
steps (default 100 for DAttn; 30 for MiniLM to keep it interactive) instead of "at most 100
epochs until converge", 100 samples per step (32 for MiniLM; the paper uses 100-1000), Gumbel
temperature 0.5, IMASK beta = 0.1. Every random draw comes from one ``torch.Generator`` seeded
with ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import torch
import torch.nn.functional as F

from core.explain.base import Explainer, ExplainError
from core.explain.features import WordFeatures
from core.models.pair import LoadedPairModel
from core.progress import heartbeat

DEFAULTS = {"steps": 100, "n_samples": 100}  # an architecture spec's gmask_defaults replace these (MiniLM: fewer)
IMASK_MEMO_PAIRS = 8  # IMASK fits kept per model (see _MaskExplainer.imask)
EPS = 1e-12

LogitFn = Callable[[torch.Tensor], torch.Tensor]
"""Word keep values [S, m] -> class logits [S, C], differentiable in the keep values."""


def entropy(probs: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Shannon entropy (nats) of the distributions along ``dim``: -sum p log p."""
    return -(probs * torch.log(probs.clamp(min=EPS))).sum(dim)


def bernoulli_entropy(keep: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of Bernoulli(keep), elementwise."""
    return entropy(torch.stack([keep, 1 - keep], -1))


def weighted_attributions(phi: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
    """theta_j = sum_i phi_j(i) psi(i) (GMASK eq. 8).

    Args:
        phi: [k, t] word-to-group probabilities (rows sum to 1).
        psi: [t] group importance (sums to 1).

    Returns:
        [k] expected keep value E[W_j] of every word.
    """
    return phi @ psi


def gumbel_softmax(logits: torch.Tensor, n_samples: int, tau: float, generator: torch.Generator) -> torch.Tensor:
    """[n_samples, *logits.shape] relaxed one-hot samples (appendix A eq. 12-13) along the last axis."""
    u = torch.rand((n_samples, *logits.shape), generator=generator, device=logits.device)
    gumbel = -torch.log(-torch.log(u.clamp(1e-10, 1 - 1e-10)))
    return torch.softmax((torch.log_softmax(logits, -1) + gumbel) / tau, -1)


def z_entropy(phi: torch.Tensor, sides: torch.Tensor) -> torch.Tensor:
    """H(Z_U) + H(Z_L): entropies of the mean group distributions of A's (side 0) and B's (side 1) words (eq. 6)."""
    return entropy(phi[sides == 0].mean(0)) + entropy(phi[sides == 1].mean(0))


def gmask_loss(ce: torch.Tensor, phi: torch.Tensor, psi: torch.Tensor, sides: torch.Tensor, gamma1: float,
               gamma2: float) -> torch.Tensor:
    """Eq. 7: CE - gamma1 (H(Z_U) + H(Z_L)) + gamma2 H(G)."""
    return ce - gamma1 * z_entropy(phi, sides) + gamma2 * entropy(psi)


@dataclass
class GroupFit:
    """Result of :func:`fit_group_masks`: phi [k, t], psi [t], theta [k] and per-step history."""

    phi: torch.Tensor
    psi: torch.Tensor
    theta: torch.Tensor
    history: list[dict[str, float]] = field(default_factory=list)


def fit_group_masks(logit_fn: LogitFn, sides: torch.Tensor, n_groups: int, target: int, steps: int = 100,
                    n_samples: int = 100, lr: float = 0.1, tau: float = 0.5, gamma1: float = 10.0,
                    gamma2: float = 1.0, seed: int = 0, z_logits: torch.Tensor | None = None,
                    g_logits: torch.Tensor | None = None) -> GroupFit:
    """Learn GMASK's phi (word -> group) and psi (group importance) for one pair by eq. 7.

    Args:
        logit_fn: keep values of the k words [S, k] -> logits [S, C].
        sides: [k] 0 for a word of A, 1 for a word of B.
        n_groups: t.
        target: the class whose cross-entropy is minimised (the model's prediction).
        steps, n_samples, lr, tau, gamma1, gamma2: see the module docstring.
        seed: seed of the sampling generator.
        z_logits, g_logits: initial logits [k, t] and [t] (default zeros: phi = psi = 1/t).

    Returns:
        A :class:`GroupFit`; ``history`` holds loss, ce, z_entropy and g_entropy per step.
    """
    device = sides.device
    generator = torch.Generator(device=device).manual_seed(int(seed))
    k = sides.shape[0]
    z = (torch.zeros(k, n_groups, device=device) if z_logits is None else z_logits.clone().float()).requires_grad_()
    g = (torch.zeros(n_groups, device=device) if g_logits is None else g_logits.clone().float()).requires_grad_()
    optimizer = torch.optim.Adam([z, g], lr=lr)
    labels = torch.full((n_samples,), int(target), device=device, dtype=torch.long)
    history = []
    for _ in range(steps):
        heartbeat()
        z_sample = gumbel_softmax(z, n_samples, tau, generator)                 # [S, k, t]
        g_sample = gumbel_softmax(g, n_samples, tau, generator)                 # [S, t]
        keep = (z_sample * g_sample.unsqueeze(1)).sum(-1)                       # [S, k] (eq. 2)
        ce = F.cross_entropy(logit_fn(keep).float(), labels)
        phi, psi = torch.softmax(z, -1), torch.softmax(g, -1)
        loss = gmask_loss(ce, phi, psi, sides, gamma1, gamma2)
        # gradients for z and g only: the model's own weights get none (autograd skips their matmuls)
        z.grad, g.grad = torch.autograd.grad(loss, [z, g])
        optimizer.step()
        history.append({"loss": loss.item(), "ce": ce.item(), "z_entropy": z_entropy(phi, sides).item(),
                        "g_entropy": entropy(psi).item()})
    with torch.no_grad():
        phi, psi = torch.softmax(z, -1), torch.softmax(g, -1)
        return GroupFit(phi, psi, weighted_attributions(phi, psi), history)


def fit_word_masks(logit_fn: LogitFn, n_words: int, target: int, device: torch.device, steps: int = 100,
                   n_samples: int = 100, lr: float = 0.1, tau: float = 0.5, beta: float = 0.1,
                   seed: int = 0) -> tuple[torch.Tensor, list[dict[str, float]]]:
    """IMASK: learn one Bernoulli keep probability per word (module docstring). Returns (E[R] [n], history)."""
    generator = torch.Generator(device=device).manual_seed(int(seed))
    logits = torch.zeros(n_words, device=device, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=lr)
    labels = torch.full((n_samples,), int(target), device=device, dtype=torch.long)
    history = []
    for _ in range(steps):
        u = torch.rand((n_samples, n_words), generator=generator, device=device).clamp(1e-10, 1 - 1e-10)
        keep = torch.sigmoid((logits + torch.log(u) - torch.log1p(-u)) / tau)   # binary Gumbel-softmax
        ce = F.cross_entropy(logit_fn(keep).float(), labels)
        loss = ce - beta * bernoulli_entropy(torch.sigmoid(logits)).mean()
        (logits.grad,) = torch.autograd.grad(loss, [logits])
        optimizer.step()
        history.append({"loss": loss.item(), "ce": ce.item()})
    return torch.sigmoid(logits).detach(), history


def select_top_words(keep_prob: torch.Tensor, n_a: int, k: int) -> list[int]:
    """Indices of the top-k words by IMASK keep probability (ties by position), at least one from each text."""
    order = sorted(range(keep_prob.shape[0]), key=lambda j: (-float(keep_prob[j]), j))
    chosen = order[:k]
    for side_test in (lambda j: j < n_a, lambda j: j >= n_a):
        if not any(side_test(j) for j in chosen):
            best = next(j for j in order if side_test(j))
            other = [j for j in chosen if not side_test(j)]
            if len(chosen) >= k and other:
                chosen.remove(other[-1])
            chosen.append(best)
    return sorted(chosen, key=lambda j: (-float(keep_prob[j]), j))


def architecture_defaults(model: Any) -> dict[str, Any]:
    """The IMASK/GMASK settings ``model``'s architecture spec declares (``gmask_defaults``; none when unregistered)."""
    from core.models.architectures import ARCHITECTURE_SPECS

    spec = ARCHITECTURE_SPECS.get(model.config.get("architecture"))
    return dict(spec.gmask_defaults) if spec is not None else {}


class _MaskExplainer(Explainer):
    """Shared settings of IMASK and GMASK (per-architecture step/sample defaults)."""

    supports = frozenset({"pair"})
    deterministic = False
    signed = False
    param_help = {"steps": "optimisation steps of the mask fit (default per architecture)",
                  "n_samples": "relaxed mask samples per step, one batch (default per architecture)",
                  "lr": "Adam learning rate of the mask fit", "tau": "Gumbel-softmax temperature",
                  "beta": "weight of the entropy term (IMASK)", "k": "words pre-selected by IMASK (GMASK)",
                  "gamma1": "eq. 7 coefficient of the group-size term (GMASK)",
                  "gamma2": "eq. 7 coefficient of the group-importance term (GMASK)"}

    def _setting(self, value, key: str) -> int:
        if value is None:
            value = {**DEFAULTS, **architecture_defaults(self.model)}[key]
        if not isinstance(value, int) or value < 1:
            raise ExplainError(f"{key} must be a positive integer, got {value!r}")
        return value

    # A fitted row costs a forward and a backward pass, about three forward passes.
    fits: ClassVar[int] = 1
    PASSES_PER_FITTED_ROW: ClassVar[int] = 3

    def expected_passes(self, features: WordFeatures) -> int:
        """Forward-pass equivalents of the mask fit(s): fits x steps x samples x 3, plus the full input."""
        return self.fits * self.params["steps"] * self.params["n_samples"] * self.PASSES_PER_FITTED_ROW + 1

    def logit_fn(self, a, b, place: torch.Tensor | None = None, n_total: int = 0) -> LogitFn:
        """keep [S, m] -> logits; with ``place`` the m values go to those word indices, the rest are 0."""
        def forward(keep: torch.Tensor) -> torch.Tensor:
            if place is not None:
                full = keep.new_zeros(keep.shape[0], n_total)
                full[:, place] = keep
                keep = full
            return self.model.word_keep_logits(a, b, keep)

        return forward

    def imask(self, a, b, target: int) -> tuple[torch.Tensor, list[dict[str, float]]]:
        """IMASK's fit (keep probabilities [n_words], history) for an encoded pair.

        Memoised on the model for its last few pairs, so explaining one pair with both GMASK
        (whose pre-selection is this fit) and IMASK runs the fit once; the key holds every
        setting and the seed, so the result is the one a fresh fit would give.
        """
        beta = self.params.get("beta", 0.1)
        key = (tuple(a.words[0]), tuple(b.words[0]), int(target), self.params["steps"], self.params["n_samples"],
               self.params["lr"], self.params["tau"], beta, self.seed)
        memo = self.model.__dict__.setdefault("_imask_memo", {})
        if key not in memo:
            with torch.enable_grad():
                memo[key] = fit_word_masks(self.logit_fn(a, b), len(key[0]) + len(key[1]), target,
                                           self.model.device, self.params["steps"], self.params["n_samples"],
                                           self.params["lr"], self.params["tau"], beta, self.seed)
            while len(memo) > IMASK_MEMO_PAIRS:
                memo.pop(next(iter(memo)))
        return memo[key]


class GMaskExplainer(_MaskExplainer):
    """GMASK: word groups across the pair and weighted attributions theta (eq. 8); also returns the groups.

    Args:
        model: a sentence-pair model.
        k: words pre-selected by IMASK (10).
        steps, n_samples, lr, tau: as :class:`IMaskExplainer` (also used for its IMASK step).
        gamma1, gamma2: eq. 7 coefficients (10 and 1, the paper's values).
        seed: sampling seed.
    """

    name = "gmask"
    label = "GMASK (word groups)"
    fits = 2  # the IMASK pre-selection (memoised per pair), then the group fit

    def __init__(self, model: LoadedPairModel, k: int = 10, steps: int | None = None, n_samples: int | None = None,
                 lr: float = 0.1, tau: float = 0.5, gamma1: float = 10.0, gamma2: float = 1.0,
                 batch_size: int | None = None, seed: int = 0):
        if not isinstance(k, int) or k < 2:
            raise ExplainError(f"k must be an integer >= 2 (one word from each text at least), got {k!r}")
        super().__init__(model, batch_size=batch_size, seed=seed, k=k, lr=lr, tau=tau, gamma1=gamma1,
                         gamma2=gamma2, unit="weighted attribution θ (expected keep)")
        self.params["steps"] = self._setting(steps, "steps")
        self.params["n_samples"] = self._setting(n_samples, "n_samples")

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor) -> tuple[list[float], dict[str, Any]]:
        """theta [n_a + n_b] (eq. 8) and details; ``details["groups"]`` becomes the record's groups."""
        a, b = features.batches
        n_a, n = len(a.words[0]), len(a.words[0]) + len(b.words[0])
        imask_keep, _ = self.imask(a, b, target)
        selected = select_top_words(imask_keep, n_a, self.params["k"])
        sides = torch.tensor([int(j >= n_a) for j in selected], device=self.model.device)
        n_groups = int(min((sides == 0).sum(), (sides == 1).sum()))
        place = torch.tensor(selected, device=self.model.device)
        with torch.enable_grad():
            fit = fit_group_masks(self.logit_fn(a, b, place, n), sides, n_groups, target, self.params["steps"],
                                  self.params["n_samples"], self.params["lr"], self.params["tau"],
                                  self.params["gamma1"], self.params["gamma2"], self.seed + 1)
        scores = (1e-3 * float(fit.theta.min()) * imask_keep).double()
        scores[place] = fit.theta.double()
        words = list(a.words[0]) + list(b.words[0])
        groups = group_records(fit.phi, fit.psi, selected, words, n_a)
        details = {"selected": selected, "n_groups": n_groups, "imask_keep": imask_keep.tolist(),
                   "phi": fit.phi.tolist(), "psi": fit.psi.tolist(),
                   "final": fit.history[-1] if fit.history else {}, "groups": groups}
        return scores.tolist(), details


class IMaskExplainer(_MaskExplainer):
    """IMASK: per-example individual word masks on both texts; score E[R_j] (unsigned keep probability).

    Args:
        model: a sentence-pair model.
        steps: optimisation steps (default 100; 30 for MiniLM).
        n_samples: relaxed mask samples per step, one batch (default 100; 32 for MiniLM).
        lr: Adam learning rate (0.1).
        tau: Gumbel-softmax temperature (0.5).
        beta: weight of the entropy term (0.1).
        seed: sampling seed.
    """

    name = "imask"
    label = "IMASK (word masks)"

    def __init__(self, model: LoadedPairModel, steps: int | None = None, n_samples: int | None = None,
                 lr: float = 0.1, tau: float = 0.5, beta: float = 0.1, batch_size: int | None = None, seed: int = 0):
        super().__init__(model, batch_size=batch_size, seed=seed, lr=lr, tau=tau, beta=beta,
                         unit="keep probability")
        self.params["steps"] = self._setting(steps, "steps")
        self.params["n_samples"] = self._setting(n_samples, "n_samples")

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor) -> tuple[list[float], dict[str, Any]]:
        """Keep probabilities E[R_j] [n_a + n_b] and the final cross-entropy of the fit."""
        keep, history = self.imask(*features.batches, target)
        return keep.double().tolist(), {"final_ce": history[-1]["ce"] if history else None}


def group_records(phi: torch.Tensor, psi: torch.Tensor, selected: list[int], words: list[str],
                  n_a: int) -> list[dict[str, Any]]:
    """Groups for display, most important first: importance psi(i) and every selected word with phi_j(i)."""
    records = []
    for group in sorted(range(psi.shape[0]), key=lambda i: -float(psi[i])):
        members = [{"side": "a" if j < n_a else "b", "index": j if j < n_a else j - n_a, "word": words[j],
                    "prob": float(phi[row, group])} for row, j in enumerate(selected)]
        members.sort(key=lambda m: -m["prob"])
        records.append({"group": int(group), "importance": float(psi[group]), "words": members})
    return records
