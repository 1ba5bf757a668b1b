"""Zero erasure, LIME and Shapley sampling for sentence pairs: the features are the words of both texts.

Every method works on the word-level keep vector of
:meth:`core.models.pair.LoadedPairModel.word_keep_logits` (1 keeps a word's
embedding(s), 0 sets them to zero), so a word of A and a word of B are
switched off the same way, all pieces of a wordpiece word together.

- ``zero``: leave-one-out (Li et al. 2016) over the n_a + n_b words; score
  log2 odds(y|x) - log2 odds(y|x_-i) (``measure="woe"``) or p(y|x) - p(y|x_-i).
- ``lime``: captum ``Lime`` with one binary feature per word, zero baseline,
  ridge surrogate and LIME's cosine kernel (width 0.25), as for single texts.
- ``shapley``: captum ``ShapleyValueSampling``, one feature per word, 25 permutations.
"""

from __future__ import annotations

from typing import Any

import torch

from core.data.tokenizers import EncodedBatch
from core.explain.erasure import MEASURE_UNITS, check_measure, score_difference
from core.explain.pair_base import PairExplainer
from core.explain.perturbation import check_count, check_lime_samples, lime_text_kernel, seeded
from core.models.pair import LoadedPairModel


def n_features(a: EncodedBatch, b: EncodedBatch) -> int:
    """n_a + n_b, the number of words of the pair."""
    return len(a.words[0]) + len(b.words[0])


class PairZeroErasure(PairExplainer):
    """Leave-one-out with the word's embedding(s) set to zero, for each word of A and of B.

    Args:
        model: a sentence-pair model.
        measure: ``"woe"`` (log2 odds difference, default) or ``"probability"``.
    """

    name = "zero"
    label = "zero erasure"

    def __init__(self, model: LoadedPairModel, measure: str = "woe", batch_size: int | None = None, seed: int = 0):
        super().__init__(model, batch_size=batch_size, seed=seed, measure=check_measure(measure),
                         unit=MEASURE_UNITS[measure])

    def attribute(self, a, b, target, probs):
        """Scores [n_a + n_b]; details ``{"p_without": [n_a + n_b]}``."""
        n = n_features(a, b)
        keep = 1.0 - torch.eye(n, device=self.model.device)
        with torch.no_grad():
            p_without = self.target_probs(a, b, keep, target)
        scores = score_difference(float(probs[target]), p_without.double(), self.params["measure"])
        return scores.tolist(), {"p_without": p_without.tolist()}, []


class _PairCaptum(PairExplainer):
    deterministic = False

    def __init__(self, model: LoadedPairModel, n_samples: int, batch_size: int | None, seed: int, **extra: Any):
        n_samples = check_count(n_samples, f"{self.name}: n_samples")
        super().__init__(model, batch_size=batch_size, seed=seed, n_samples=n_samples, baseline="zero",
                         unit="probability", **extra)

    def attribute(self, a, b, target, probs):
        """Scores [n_a + n_b] in probability units (captum's attribution of each word's binary feature)."""
        n = n_features(a, b)
        inputs = torch.ones(1, n, device=self.model.device)
        feature_mask = torch.arange(n, device=self.model.device).unsqueeze(0)

        def forward(keep: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.model.word_keep_logits(a, b, keep), -1)[:, target]

        with seeded(self.seed, self.model.device), torch.no_grad():
            attributions = self.run_captum(forward, inputs, feature_mask)
        return attributions[0].double().tolist(), {}, []

    def run_captum(self, forward, inputs: torch.Tensor, feature_mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class PairLime(_PairCaptum):
    """LIME over the words of both texts (captum ``Lime``; see :class:`core.explain.perturbation.LimeExplainer`).

    Args:
        n_samples: perturbed pairs (default 500); at least 10 and more than the
            pair has words (n_a + n_b), as :func:`core.explain.perturbation.check_lime_samples` says.
        kernel_width: LIME's cosine-kernel width (0.25).
        ridge_alpha: ridge penalty of the surrogate (1.0).
    """

    name = "lime"
    label = "LIME"

    def __init__(self, model: LoadedPairModel, n_samples: int = 500, kernel_width: float = 0.25,
                 ridge_alpha: float = 1.0, batch_size: int | None = None, seed: int = 0):
        super().__init__(model, check_lime_samples(n_samples), batch_size, seed, kernel_width=kernel_width,
                         surrogate="ridge", ridge_alpha=ridge_alpha)

    def attribute(self, a, b, target, probs):
        """As :meth:`_PairCaptum.attribute`, after checking there are more samples than words of both texts."""
        check_lime_samples(self.params["n_samples"], n_features(a, b))
        return super().attribute(a, b, target, probs)

    def run_captum(self, forward, inputs, feature_mask):
        from captum._utils.models.linear_model import SkLearnRidge
        from captum.attr import Lime

        lime = Lime(forward, interpretable_model=SkLearnRidge(alpha=self.params["ridge_alpha"]),
                    similarity_func=lime_text_kernel(self.params["kernel_width"]))
        return lime.attribute(inputs, baselines=0.0, feature_mask=feature_mask, n_samples=self.params["n_samples"],
                              perturbations_per_eval=self.batch_size)


class PairShapley(_PairCaptum):
    """Shapley value sampling over the words of both texts (captum ``ShapleyValueSampling``).

    Args:
        n_permutations: permutations (default 25); ``n_samples`` is accepted as its alias.
    """

    name = "shapley"
    label = "Shapley (sampled)"

    def __init__(self, model: LoadedPairModel, n_permutations: int | None = None, n_samples: int | None = None,
                 batch_size: int | None = None, seed: int = 0):
        count = check_count(n_permutations if n_permutations is not None else n_samples if n_samples is not None
                            else 25, "shapley: n_permutations (n_samples)")
        super().__init__(model, count, batch_size, seed, n_permutations=count)

    def run_captum(self, forward, inputs, feature_mask):
        from captum.attr import ShapleyValueSampling

        return ShapleyValueSampling(forward).attribute(inputs, baselines=0.0, feature_mask=feature_mask,
                                                       n_samples=self.params["n_samples"],
                                                       perturbations_per_eval=self.batch_size)
