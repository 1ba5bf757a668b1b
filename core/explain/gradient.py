"""Gradient explainers on the input embeddings (captum): ``saliency``, ``grad_input`` and ``integrated_gradients``.

f is p(target | x), the probability of the explained class. A word is all of its pieces;
special tokens are never scored.

- :class:`GradInput` (``grad_input``): gradient x input, signed. Scaling word i's embeddings
  by a keep factor k_i (:meth:`~core.explain.features.WordFeatures.keep_logits`, differentiable
  in the keep vector), df/dk_i at k = 1 is the sum over the word's pieces and embedding
  dimensions of (df/de) * e: the embedding-level gradient x input summed per word. Computed with
  captum's ``InputXGradient`` on the [1, n_words] keep vector of ones (input 1, so the
  attribution is that derivative); texts and pairs alike. Unit: probability (per unit keep).
- :class:`IntegratedGradients` (``integrated_gradients``): captum's ``IntegratedGradients`` on
  the keep vector from 0 (every word's embeddings zero, the only baseline) to 1 along the straight
  line. Since the keep vector scales the embeddings, this is exactly integrated gradients on
  the input embeddings with the zero-embedding baseline, summed per word (special tokens stay
  at their embeddings on the whole path). Completeness: the scores sum to f(x) - f(all words
  zeroed) up to captum's convergence delta, reported in ``details``. ``n_steps`` points of
  captum's Gauss-Legendre rule, in chunks of ``batch_size`` rows. Unit: probability.
- :class:`Saliency` (``saliency``): the L2 norm of the gradient of f with respect to the
  input embeddings, over all pieces and dimensions of a word
  (sqrt of the sum of the squared gradients); unsigned. captum's ``Saliency`` on the
  embeddings taken as leaf tensors: a single text through ``forward_embeddings`` (so a mask
  model's mask applies), a pair through its ``compare`` (pair models whose ``forward_pair`` is
  :class:`~core.models.pair.PairClassifier`'s; a pair model that overrides it, such as a
  Hugging Face cross-encoder, offers no embedding-level entry point, and saliency says so).
  Unit: gradient norm (probability per unit of embedding length).

Explainer.explain runs :meth:`attribute` under ``torch.no_grad()``; the gradients are taken
inside ``torch.enable_grad()``. The model is in eval mode (dropout off), so every method is
deterministic. captum is imported where it is used: it adds 0.36 s to importing the registry.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from core.explain.base import Explainer, ExplainError, model_kind
from core.explain.features import WordFeatures
from core.models.pair import PairClassifier

DEFAULT_STEPS = 50
BASELINE_HELP = "zero only: the path starts at zero embeddings for every word (special tokens kept)"


def check_steps(n_steps: Any) -> int:
    """``n_steps`` as a positive int; else :class:`ExplainError`."""
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ExplainError(f"integrated_gradients: n_steps must be a positive integer, got {n_steps!r}")
    return n_steps


def keep_probability(features: WordFeatures, target: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """f(keep [N, n_words]) -> [N] p(target | every word's embeddings scaled by its keep factor)."""

    def forward(keep: torch.Tensor) -> torch.Tensor:
        return torch.softmax(features.keep_logits(keep, "zero"), -1)[:, target]

    return forward


def word_norms(gradients: torch.Tensor, word_ids: torch.Tensor, n_words: int) -> torch.Tensor:
    """[n_words] L2 norm of ``gradients`` [T, d] over each word's positions (word id >= 0) and dimensions."""
    squared = gradients.double().pow(2).sum(-1)                              # [T]
    valid = word_ids >= 0
    totals = squared.new_zeros(n_words).index_add_(0, word_ids[valid], squared[valid])
    return totals.sqrt()


def pair_embedding_path(model: Any) -> bool:
    """True when ``model``'s pair classifier reads its embeddings only through ``compare`` (the base forward_pair)."""
    return type(model.model).forward_pair is PairClassifier.forward_pair


class _GradientExplainer(Explainer):
    """Shared declarations: texts and pairs, deterministic, probability of the target class."""

    supports = frozenset({"text", "pair"})
    deterministic = True


class GradInput(_GradientExplainer):
    """Gradient x input on the input embeddings, summed over each word's pieces and dimensions (signed).

    Args:
        model: a single-text or sentence-pair model.
        batch_size, seed: as :class:`~core.explain.base.Explainer` (one row is sent; nothing is random).
    """

    name = "grad_input"
    label = "gradient × input"

    def __init__(self, model: Any, batch_size: int | None = None, seed: int = 0):
        super().__init__(model, batch_size=batch_size, seed=seed, unit="probability")

    def expected_passes(self, features: WordFeatures) -> int:
        """One forward (and backward) pass."""
        return 1

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor
                  ) -> tuple[list[float], dict[str, Any]]:
        """Scores [n_words]: df/dk_i at k = 1 (probability units); no details."""
        inputs = torch.ones(1, features.n_words, device=self.model.device, requires_grad=True)
        with torch.enable_grad():
            from captum.attr import InputXGradient
            attributions = InputXGradient(keep_probability(features, target)).attribute(inputs)
        return attributions[0].detach().double().tolist(), {}


class IntegratedGradients(_GradientExplainer):
    """Integrated gradients on the input embeddings from zero embeddings, summed per word (captum).

    Args:
        model: a single-text or sentence-pair model.
        n_steps: points of the path integral (captum's Gauss-Legendre rule), default 50.
        baseline: ``"zero"`` only (every word's embeddings zero; special tokens kept).
        batch_size: most path points per forward (captum's ``internal_batch_size``).
        seed: as :class:`~core.explain.base.Explainer` (nothing is random).

    Raises:
        ExplainError: ``n_steps`` not a positive integer, or another baseline.
    """

    name = "integrated_gradients"
    label = "integrated gradients"
    param_help = {"n_steps": "points of the path integral from the baseline to the input (captum's Gauss-Legendre)",
                  "baseline": BASELINE_HELP}

    def __init__(self, model: Any, n_steps: int = DEFAULT_STEPS, baseline: str = "zero",
                 batch_size: int | None = None, seed: int = 0):
        if baseline != "zero":
            raise ExplainError(f"integrated_gradients: baseline must be 'zero' (zero embeddings), got {baseline!r}")
        super().__init__(model, batch_size=batch_size, seed=seed, n_steps=check_steps(n_steps), baseline=baseline,
                         unit="probability")

    def expected_passes(self, features: WordFeatures) -> int:
        """``n_steps`` path points (forward and backward) plus the input and the baseline for the delta."""
        return self.params["n_steps"] + 2

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor
                  ) -> tuple[list[float], dict[str, Any]]:
        """Scores [n_words] (probability units; sum = f(x) - f(zero words) - delta) and details
        ``{"convergence_delta": sum of scores - (f(x) - f(baseline)), "n_steps": n_steps}``."""
        inputs = torch.ones(1, features.n_words, device=self.model.device, requires_grad=True)
        n_steps = self.params["n_steps"]
        with torch.enable_grad():
            from captum.attr import IntegratedGradients as CaptumIntegratedGradients
            attributions, delta = CaptumIntegratedGradients(keep_probability(features, target)).attribute(
                inputs, baselines=torch.zeros(inputs.shape, device=inputs.device), n_steps=n_steps,
                internal_batch_size=self.batch_size, return_convergence_delta=True)
        return attributions[0].detach().double().tolist(), {"convergence_delta": float(delta.reshape(-1)[0]),
                                                            "n_steps": n_steps}


class Saliency(_GradientExplainer):
    """The L2 norm of the gradient of p(target) w.r.t. the input embeddings over each word's pieces (unsigned).

    Args:
        model: a single-text model, or a pair model whose ``forward_pair`` is the base one.
        batch_size, seed: as :class:`~core.explain.base.Explainer` (one row is sent; nothing is random).
    """

    name = "saliency"
    label = "saliency (gradient norm)"
    signed = False

    def __init__(self, model: Any, batch_size: int | None = None, seed: int = 0):
        super().__init__(model, batch_size=batch_size, seed=seed, unit="gradient norm")

    @classmethod
    def unsupported_reason(cls, model: Any) -> str | None:
        """A pair model that overrides ``forward_pair`` has no embedding-level entry point."""
        if model_kind(model) == "pair" and not pair_embedding_path(model):
            return (f"saliency needs the embeddings of {getattr(model, 'name', '') or 'this model'} as inputs, but "
                    f"its {type(model.model).__name__} joins the texts in its own forward_pair; use grad_input "
                    "or integrated_gradients")
        return None

    def expected_passes(self, features: WordFeatures) -> int:
        """One forward (and backward) pass."""
        return 1

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor
                  ) -> tuple[list[float], dict[str, Any]]:
        """Scores [n_words]: per word, the L2 norm of d p(target) / d embeddings over its pieces; no details."""
        with torch.enable_grad():
            if features.pair:
                gradients = self.pair_gradients(features, target)
            else:
                gradients = (self.text_gradients(features, target),)
        norms = [word_norms(g, b.word_ids[0], len(b.words[0])) for g, b in zip(gradients, features.batches)]
        return torch.cat(norms).tolist(), {}

    def text_gradients(self, features: WordFeatures, target: int) -> torch.Tensor:
        """[T, d] gradient of p(target) w.r.t. a single text's embeddings."""
        classifier, batch = self.model.model, features.batch

        def forward(embeddings: torch.Tensor) -> torch.Tensor:
            return torch.softmax(classifier.forward_embeddings(
                embeddings, batch.attention_mask[:1], batch.token_mask[:1]).logits, -1)

        embeddings = classifier.embed(batch.input_ids[:1]).detach().requires_grad_()
        from captum.attr import Saliency as CaptumSaliency
        return CaptumSaliency(forward).attribute(embeddings, target=target, abs=False)[0]

    def pair_gradients(self, features: WordFeatures, target: int) -> tuple[torch.Tensor, torch.Tensor]:
        """([Ta, d], [Tb, d]) gradients of p(target) w.r.t. the two texts' embeddings (through ``compare``)."""
        classifier, (a, b) = self.model.model, features.batches

        def forward(emb_a: torch.Tensor, emb_b: torch.Tensor) -> torch.Tensor:
            logits = classifier.compare(emb_a, a.attention_mask[:1].bool(), emb_b, b.attention_mask[:1].bool())
            return torch.softmax(logits.float(), -1)

        inputs = tuple(classifier.embed(t.input_ids[:1]).detach().requires_grad_() for t in (a, b))
        from captum.attr import Saliency as CaptumSaliency
        grad_a, grad_b = CaptumSaliency(forward).attribute(inputs, target=target, abs=False)
        return grad_a[0], grad_b[0]
