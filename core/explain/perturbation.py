"""Sampling-based perturbation explainers, for texts and pairs: LIME (vectorised) and Shapley sampling (captum).

One binary feature per word (of the text, or of both texts of a pair): the explainers perturb
the word keep vector of :class:`core.explain.features.WordFeatures`, so for a wordpiece model a
word's pieces are switched off together, and special tokens (``[CLS]``, ``[SEP]``) and padding
are held fixed and never perturbed. A word that is "off" gets the baseline embedding: zero
(default) or, for single texts, the embedding of the unknown token (``baseline="unk"``; every
piece becomes ``[UNK]``).

The explained quantity is the probability of the target class, so scores are
in probability units. Both methods sample and are seeded; the seed is stored in
the :class:`Explanation` and the caller's random state is left untouched. LIME
draws all its keep vectors at once from its own ``torch.Generator`` (seeded with
the explainer's seed), scores them in one batched pass (``batch_size`` rows per
forward) and fits the surrogate with scikit-learn's ``Ridge``. Shapley sampling
runs captum's ``ShapleyValueSampling`` with torch, numpy and ``random`` seeded
inside a forked random state (``batch_size`` is captum's ``perturbations_per_eval``).

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


def lime_kernel_weights(keep: torch.Tensor, kernel_width: float) -> np.ndarray:
    """LIME's text kernel for many samples at once: weights [N] (float64) of keep vectors ``keep`` [N, n_words].

    The vectorised :func:`lime_text_kernel`: distance = 1 - sqrt(|z| / n) (the cosine distance
    of z to the all-ones vector), weight = exp(-distance^2 / (2 width^2)); the original (all
    words kept) weighs 1, the empty text exp(-1 / (2 width^2)).
    """
    z = keep.detach().double().cpu().numpy()
    distance = 1.0 - np.sqrt(z.sum(1) / z.shape[1])
    return np.exp(-distance ** 2 / (2 * kernel_width ** 2))


def lime_samples(n_samples: int, n_words: int, seed: int) -> torch.Tensor:
    """LIME's neighbourhood: ``n_samples`` binary keep vectors [n_samples, n_words] (float32, CPU).

    Row 0 is the explained input itself (all ones), as in the ``lime`` package, so the
    surrogate is always fitted on the prediction it explains (with kernel weight 1). Every
    other row keeps each word independently with probability 1/2 (captum's default for
    ``Lime``), drawn from a ``torch.Generator`` seeded with ``seed``: the same seed gives
    the same rows, and no global random state is read or changed.
    """
    generator = torch.Generator().manual_seed(seed)
    random_rows = torch.rand(n_samples - 1, n_words, generator=generator) < 0.5
    return torch.cat([torch.ones(1, n_words, dtype=torch.bool), random_rows]).float()


def fit_lime_surrogate(keep: torch.Tensor, outputs: np.ndarray, weights: np.ndarray, alpha: float) -> np.ndarray:
    """Coefficients [n_words] of the weighted ridge surrogate fitted on (keep [N, n_words], outputs [N]).

    scikit-learn's ``Ridge(alpha, fit_intercept=True)`` with ``sample_weight=weights`` [N], as
    the ``lime`` package and captum's ``SkLearnRidge`` fit it; the coefficients are in the units
    of ``outputs`` (here p(target)).
    """
    from sklearn.linear_model import Ridge

    z = keep.detach().double().cpu().numpy()
    surrogate = Ridge(alpha=alpha, fit_intercept=True).fit(z, np.asarray(outputs, np.float64), sample_weight=weights)
    return surrogate.coef_.astype(np.float64)


class _SamplingExplainer(Explainer):
    """Shared setup of the sampling explainers: the baseline and sample-count checks and the recorded params."""

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


class LimeExplainer(_SamplingExplainer):
    """LIME (Ribeiro et al. 2016): a weighted linear surrogate over binary word features, fitted on sampled erasures.

    Samples (:func:`lime_samples`): the explained input itself (row 0, as the ``lime``
    package) and ``n_samples - 1`` keep vectors that keep each word independently with
    probability 1/2 (captum's default), all drawn at once from a generator seeded with
    ``seed``. They go through the model in one batched pass (``batch_size`` rows per
    forward; a short text's repeated vectors are scored once); sample weights come from
    LIME's text kernel (:func:`lime_kernel_weights`); the surrogate is scikit-learn's
    ``Ridge`` (alpha ``ridge_alpha``, with an intercept, as the ``lime`` package). Scores
    are its coefficients: the change of p(target) the surrogate credits to keeping each
    word (probability units).

    Args:
        model: the model to explain (a single-text or a pair model).
        n_samples: perturbed texts the surrogate is fitted on, the explained input
            included (default 500); at least :data:`MIN_LIME_SAMPLES` (10), and more
            than the explained input has words (checked per input; see
            :func:`check_lime_samples`). At most that many model evaluations.
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
    version = 2  # vectorised sampling with the input as sample 0 (version 1: captum's Lime)
    param_help = {"n_samples": "perturbed inputs the surrogate is fitted on (more than the input has words)",
                  "baseline": "zero: erased words get a zero embedding; unk: the unknown token's (single texts)",
                  "kernel_width": "width of LIME's similarity kernel on the cosine distance",
                  "ridge_alpha": "ridge penalty of the linear surrogate"}

    def __init__(self, model: LoadedModel, n_samples: int = 500, baseline: str = "zero", kernel_width: float = 0.25,
                 ridge_alpha: float = 1.0, batch_size: int | None = None, seed: int = 0):
        super().__init__(model, check_lime_samples(n_samples), baseline, batch_size, seed, kernel_width=kernel_width,
                         surrogate="ridge", ridge_alpha=ridge_alpha)

    def expected_passes(self, features: WordFeatures) -> int:
        """At most ``n_samples`` rows, and at most the 2^n_words distinct ones (repeats are scored once), plus one."""
        return min(self.params["n_samples"], 2 ** min(features.n_words, 62)) + 1

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor
                  ) -> tuple[list[float], dict[str, Any]]:
        """Surrogate coefficients [n_words] (probability units), after checking there are more samples than words."""
        n_samples = check_lime_samples(self.params["n_samples"], features.n_words)
        keep = lime_samples(n_samples, features.n_words, self.seed)                      # [N, n_words]
        keep_here = keep.to(self.model.device)
        if 2 ** features.n_words < n_samples ** 2:  # repeated rows are likely (birthday bound): score each once
            outputs, _ = features.distinct_target_probs(keep_here, target, self.batch_size, self.params["baseline"])
        else:
            outputs = features.target_probs(keep_here, target, self.batch_size, self.params["baseline"])   # [N]
        weights = lime_kernel_weights(keep, self.params["kernel_width"])                  # [N]
        scores = fit_lime_surrogate(keep, outputs.double().cpu().numpy(), weights, self.params["ridge_alpha"])
        return scores.tolist(), {}


class ShapleyExplainer(_SamplingExplainer):
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

    def expected_passes(self, features: WordFeatures) -> int:
        """Each permutation adds the words one at a time: n_permutations x (n_words + 1) rows, plus the input."""
        return self.params["n_samples"] * (features.n_words + 1) + 1

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor
                  ) -> tuple[list[float], dict[str, Any]]:
        """Scores [n_words]: captum ``ShapleyValueSampling`` over the [1, n_words] keep vector (probability units)."""
        from captum.attr import ShapleyValueSampling

        n = features.n_words
        inputs = torch.ones(1, n, device=self.model.device)                  # [1, n] all words kept
        feature_mask = torch.arange(n, device=self.model.device).unsqueeze(0)  # [1, n] one feature per word
        baseline = self.params["baseline"]

        def forward(keep: torch.Tensor) -> torch.Tensor:
            return torch.softmax(features.keep_logits(keep, baseline), -1)[:, target]

        with seeded(self.seed, self.model.device):
            attributions = ShapleyValueSampling(forward).attribute(
                inputs, baselines=0.0, feature_mask=feature_mask, n_samples=self.params["n_samples"],
                perturbations_per_eval=self.batch_size)                      # [1, n]
        return attributions[0].double().tolist(), {}
