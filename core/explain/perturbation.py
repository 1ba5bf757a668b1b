"""Sampling-based perturbation explainers on top of captum: LIME and Shapley value sampling, for texts and pairs.

One binary feature per word (of the text, or of both texts of a pair): captum perturbs the
word keep vector of :class:`core.explain.features.WordFeatures`, so for a wordpiece model a
word's pieces are switched off together, and special tokens (``[CLS]``, ``[SEP]``) and padding
are held fixed and never perturbed. A word that is "off" gets the baseline embedding: zero
(default) or, for single texts, the embedding of the unknown token (``baseline="unk"``; every
piece becomes ``[UNK]``).

The explained quantity is the probability of the target class, so scores are
in probability units. Both methods sample: they are seeded (torch, numpy and
``random`` are seeded inside a forked random state, so global random state is
left untouched) and the seed is stored in the :class:`Explanation`. Sampled
perturbations go through the model ``batch_size`` at a time
(captum's ``perturbations_per_eval``).

Sample counts: LIME needs at least :data:`MIN_LIME_SAMPLES` samples and more
samples than the text has words (see :func:`check_lime_samples`); Shapley
sampling needs at least one permutation (one is a valid, if noisy, estimate).
"""

from __future__ import annotations

import math
import random
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np
import torch

from core.explain.base import Explainer, ExplainError, model_kind
from core.explain.features import BASELINES, WordFeatures
from core.models.factory import LoadedModel

# Fewest LIME samples for any text. The real bound is per text (more samples than words,
# see check_lime_samples); the floor keeps short texts from being fitted on a handful of
# samples that may well all be alike. The lime package's default is 5000, MaskLens's 500.
MIN_LIME_SAMPLES = 10


def check_count(value: Any, what: str) -> int:
    """``value`` as an int when it is a positive integer (not a bool), else :class:`ExplainError` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ExplainError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def check_lime_samples(n_samples: int, n_words: int | None = None) -> int:
    """Refuse too few LIME samples; returns ``n_samples`` as an int.

    LIME fits a ridge regression with an intercept on one binary feature per
    word. With ``n_samples <= n_words`` that fit is underdetermined: the
    coefficients come from the ridge penalty rather than from the model (one
    sample gives all-zero scores). So LIME needs ``n_samples >= n_words + 1``
    and at least :data:`MIN_LIME_SAMPLES`.

    Args:
        n_samples: requested perturbed samples.
        n_words: the number of features (words) of the text, when known; without
            it only the positive-integer check and the fixed floor apply.

    Raises:
        ExplainError: the count is not a positive integer or is below the minimum;
            the message gives the minimum and why.
    """
    n_samples = check_count(n_samples, "lime: n_samples")
    why = ("it fits a linear surrogate with one weight per word, which fewer samples cannot determine "
           "(the default is 500)")
    if n_samples < MIN_LIME_SAMPLES:
        raise ExplainError(f"lime: n_samples={n_samples} is too few; LIME needs at least {MIN_LIME_SAMPLES}: {why}")
    if n_words is not None and n_samples <= n_words:
        raise ExplainError(f"lime: n_samples={n_samples} is too few for {n_words} words; LIME needs more "
                           f"samples than words (here at least {n_words + 1}): {why}")
    return n_samples


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch, numpy and ``random`` with ``seed`` inside, restoring their previous states after."""
    devices = [device] if device.type == "cuda" else []
    np_state, py_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


def lime_text_kernel(kernel_width: float) -> Callable[..., float]:
    """LIME's text similarity on the binary word vector z (Ribeiro et al.'s ``LimeTextExplainer``).

    distance = 1 - cos(1, z) = 1 - sqrt(|z| / n); weight = exp(-distance^2 / (2 width^2)).
    The ``lime`` package uses 100 * distance with width 25, i.e. width 0.25 here.
    """
    def similarity(original, perturbed, interpretable: torch.Tensor, **kwargs: Any) -> float:
        z = interpretable.float().flatten()
        distance = 1.0 - math.sqrt(float(z.sum()) / z.numel())
        return math.exp(-distance ** 2 / (2 * kernel_width ** 2))

    return similarity


class _CaptumExplainer(Explainer):
    """Shared setup: captum perturbs the [1, n_words] keep vector of the features; forward = p(target)."""

    deterministic = False
    supports = frozenset({"text", "pair"})

    def __init__(self, model: LoadedModel, n_samples: int, baseline: str = "zero", batch_size: int | None = None,
                 seed: int = 0, **extra: Any):
        if baseline not in BASELINES:
            raise ExplainError(f"baseline must be one of {', '.join(BASELINES)}, got {baseline!r}")
        if baseline != "zero" and model_kind(model) == "pair":
            raise ExplainError(f"{self.name}: a sentence-pair model erases words with zero embeddings only "
                               f"(baseline='zero'), got {baseline!r}")
        n_samples = check_count(n_samples, f"{self.name}: n_samples")
        super().__init__(model, batch_size=batch_size, seed=seed, n_samples=n_samples, baseline=baseline,
                         unit="probability", **extra)

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor
                  ) -> tuple[list[float], dict[str, Any]]:
        """Scores [n_words] in probability units (captum's attribution of word i's binary feature)."""
        n = features.n_words
        inputs = torch.ones(1, n, device=self.model.device)                  # [1, n] all words kept
        feature_mask = torch.arange(n, device=self.model.device).unsqueeze(0)  # [1, n] one feature per word
        baseline = self.params["baseline"]

        def forward(keep: torch.Tensor) -> torch.Tensor:
            return torch.softmax(features.keep_logits(keep, baseline), -1)[:, target]

        with seeded(self.seed, self.model.device):
            attributions = self.run_captum(forward, inputs, feature_mask)   # [1, n]
        return attributions[0].double().tolist(), {}

    def run_captum(self, forward: Callable, inputs: torch.Tensor, feature_mask: torch.Tensor) -> torch.Tensor:
        """Attributions shaped like ``inputs`` [1, n_words]; the baseline of every feature is 0 (erased)."""
        raise NotImplementedError


class LimeExplainer(_CaptumExplainer):
    """LIME (Ribeiro et al. 2016) with captum's ``Lime``: a weighted linear surrogate over binary word features.

    Surrogate: ridge regression (alpha ``ridge_alpha``, as the ``lime``
    package), sample weights from :func:`lime_text_kernel`. Samples switch
    each word on/off independently with probability 1/2 (captum's default).

    Args:
        model: the model to explain (a single-text or a pair model).
        n_samples: perturbed texts to sample (default 500); at least
            :data:`MIN_LIME_SAMPLES` (10), and more than the explained input has
            words (checked per input; see :func:`check_lime_samples`).
        baseline: ``"zero"`` embedding or ``"unk"`` for words switched off (single texts).
        kernel_width: similarity kernel width on the cosine distance (0.25).
        ridge_alpha: ridge penalty of the surrogate (1.0).
        batch_size: most perturbed texts per forward.
        seed: sampling seed.

    Raises:
        ExplainError: ``n_samples`` below 10 (here) or not above the number of
            words of an input (in :meth:`explain`).
    """

    name = "lime"
    label = "LIME"
    param_help = {"n_samples": "perturbed inputs the surrogate is fitted on (more than the input has words)",
                  "baseline": "zero: erased words get a zero embedding; unk: the unknown token's (single texts)",
                  "kernel_width": "width of LIME's similarity kernel on the cosine distance",
                  "ridge_alpha": "ridge penalty of the linear surrogate"}

    def __init__(self, model: LoadedModel, n_samples: int = 500, baseline: str = "zero", kernel_width: float = 0.25,
                 ridge_alpha: float = 1.0, batch_size: int | None = None, seed: int = 0):
        super().__init__(model, check_lime_samples(n_samples), baseline, batch_size, seed, kernel_width=kernel_width,
                         surrogate="ridge", ridge_alpha=ridge_alpha)

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor
                  ) -> tuple[list[float], dict[str, Any]]:
        """As :meth:`_CaptumExplainer.attribute`, after checking there are more samples than words."""
        check_lime_samples(self.params["n_samples"], features.n_words)
        return super().attribute(features, target, probs)

    def run_captum(self, forward, inputs, feature_mask) -> torch.Tensor:
        """captum ``Lime.attribute`` with the ridge surrogate; [1, n_words] coefficients."""
        from captum._utils.models.linear_model import SkLearnRidge
        from captum.attr import Lime

        lime = Lime(forward, interpretable_model=SkLearnRidge(alpha=self.params["ridge_alpha"]),
                    similarity_func=lime_text_kernel(self.params["kernel_width"]))
        return lime.attribute(inputs, baselines=0.0, feature_mask=feature_mask, n_samples=self.params["n_samples"],
                              perturbations_per_eval=self.batch_size)


class ShapleyExplainer(_CaptumExplainer):
    """Shapley values of the words by permutation sampling (captum ``ShapleyValueSampling``).

    Each of the ``n_permutations`` random word orders adds the words one by one
    from the baseline and credits each word with its marginal change in
    p(target); scores are the averages (probability units, summing to
    p(y | x) - p(y | baseline text) for every sample).

    Args:
        model: the model to explain (a single-text or a pair model).
        n_permutations: permutations to sample (captum's ``n_samples``; default 25);
            a positive integer (1 is a valid, noisy estimate).
        n_samples: the same count under LIME's name, used when ``n_permutations``
            is not given (so ``explain(..., n_samples=k)`` sets both methods' counts,
            and a settings dict with both names gives each method its own).
        baseline: ``"zero"`` embedding or ``"unk"`` for absent words (single texts).
        batch_size: most perturbed texts per forward.
        seed: sampling seed.

    ``params`` records the count under both names.
    """

    name = "shapley"
    label = "Shapley value sampling"
    param_help = {"n_permutations": "random word orders averaged (1 is a valid, noisy estimate)",
                  "n_samples": "the same count under LIME's name, used when n_permutations is not given",
                  "baseline": "zero: absent words get a zero embedding; unk: the unknown token's (single texts)"}

    def __init__(self, model: LoadedModel, n_permutations: int | None = None, n_samples: int | None = None,
                 baseline: str = "zero", batch_size: int | None = None, seed: int = 0):
        count = n_permutations if n_permutations is not None else n_samples if n_samples is not None else 25
        count = check_count(count, "shapley: n_permutations (n_samples)")
        super().__init__(model, count, baseline, batch_size, seed, n_permutations=count)

    def run_captum(self, forward, inputs, feature_mask) -> torch.Tensor:
        """captum ``ShapleyValueSampling.attribute``; [1, n_words] Shapley value per word."""
        from captum.attr import ShapleyValueSampling

        return ShapleyValueSampling(forward).attribute(inputs, baselines=0.0, feature_mask=feature_mask,
                                                       n_samples=self.params["n_samples"],
                                                       perturbations_per_eval=self.batch_size)
