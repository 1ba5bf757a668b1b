"""The one contract every explainer follows, for single texts and sentence pairs, and the records it returns.

An explainer is built once for a model (``Explainer(model, **params)``) and answers
``explain(text, text_b=None, target=None) -> Explanation``. Its features are words: the words
of the text as :func:`core.data.text.split_words` splits it, or of both texts of a pair, the
first text's first (a :class:`PairExplanation` says where the second starts). Scores are one
per word, signed (positive supports the explained class, negative opposes it) unless the
explainer declares ``signed = False``. By default the explained class is the predicted one.

Each explainer declares on its class what it needs and offers, and pages, command lines and
the evaluation runner read those declarations instead of keeping lists:

- ``name`` (the registry key) and ``label`` (what pages show);
- ``supports``: ``{"text"}``, ``{"pair"}`` or both;
- ``requires_mask`` (reads a mask model's own importance), ``needs_likelihood`` (gets a
  :class:`core.lm.base.LikelihoodModel` as ``likelihood``), ``deterministic``, ``signed``;
- ``param_help``: one line of help per constructor parameter; types and defaults come from
  the constructor's signature (:meth:`Explainer.parameters`).

A class that sets its own ``name`` registers itself in :data:`EXPLAINERS` when it is defined
(inseq's registry by subclassing): a new explainer is one file that subclasses
:class:`Explainer` and is imported (the built-in ones by :mod:`core.explain.registry`).
"""

from __future__ import annotations

import contextlib
import inspect
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Iterator, Sequence

import numpy as np
import torch

from core.explain.errors import ExplainError
from core.explain.features import WordFeatures, encode_features, explain_batch_size


@dataclass
class Explanation:
    """One explanation of one prediction.

    Attributes:
        text: the text as given (the first text of a pair).
        words: the explained words (after cleaning and truncation).
        scores: one score per word (units depend on ``method``; see ``params["unit"]``); signed
            (positive supports ``target``) unless ``signed`` is False.
        method: explainer name (``zero``, ``unk``, ``marginal``, ``lime``, ``shapley``, ``vmask``, ...).
        target: index of the explained class.
        target_name: its label name.
        probs: predicted class probabilities for the full text.
        predicted: index of the predicted class.
        params: the explainer's parameters (what makes the result reproducible).
        seed: random seed used, or None for deterministic methods.
        seconds: wall-clock time of the explanation.
        model_name: registry name of the explained model.
        truncated: True when the text was longer than the model's limit and cut.
        details: method-specific extras, JSON-ready (e.g. marginalization candidates per word).
        signed: False for explainers whose scores are unsigned importances (a mask's keep
            probability in [0, 1], the same for every class).
    """

    text: str
    words: list[str]
    scores: list[float]
    method: str
    target: int
    target_name: str
    probs: list[float]
    predicted: int
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    seconds: float = 0.0
    model_name: str = ""
    truncated: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    signed: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the CLI's record adds nothing else)."""
        return asdict(self)

    def ranking(self) -> list[int]:
        """Word indices from most to least supporting (highest score first; ties by position)."""
        return sorted(range(len(self.scores)), key=lambda i: (-self.scores[i], i))


@dataclass
class PairExplanation(Explanation):
    """An :class:`Explanation` of a pair prediction: ``words = words_a + words_b``, scores in that order.

    Extra attributes:
        text_b: the second text as given (``text`` holds the first).
        n_words_a: how many of ``words`` (and ``scores``) belong to the first text.
        groups: GMASK only: word groups, most important first, each
            ``{"group": i, "importance": psi_i, "words": [{"side": "a"|"b", "index": j, "word": w,
            "prob": phi_j(i)}, ...]}`` (index within its own text).
    """

    text_b: str = ""
    n_words_a: int = 0
    groups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def words_a(self) -> list[str]:
        return self.words[: self.n_words_a]

    @property
    def words_b(self) -> list[str]:
        return self.words[self.n_words_a:]

    @property
    def scores_a(self) -> list[float]:
        return self.scores[: self.n_words_a]

    @property
    def scores_b(self) -> list[float]:
        return self.scores[self.n_words_a:]

    def tagged_words(self) -> list[tuple[str, str]]:
        """``[(side, word), ...]`` over both texts: the word list the pair metrics perturb."""
        return [("a" if i < self.n_words_a else "b", w) for i, w in enumerate(self.words)]


@dataclass(frozen=True)
class Param:
    """One declared explainer parameter: its name, default, type (as written in the signature) and help."""

    name: str
    default: Any
    type: str
    help: str


def log2_odds(prob: torch.Tensor | np.ndarray | float, eps: float = 1e-7):
    """log2(p / (1 - p)) with p clipped to [eps, 1 - eps]: the weight-of-evidence scale."""
    if isinstance(prob, torch.Tensor):
        prob = prob.clamp(eps, 1 - eps)
        return torch.log2(prob) - torch.log2(1 - prob)
    prob = np.clip(prob, eps, 1 - eps)
    return np.log2(prob) - np.log2(1 - prob) if isinstance(prob, np.ndarray) else math.log2(prob / (1 - prob))


@contextlib.contextmanager
def seeded_rng(seed: int | None) -> Iterator[None]:
    """Run a block with torch's random state seeded by ``seed`` and give the caller's state back after.

    The CPU generator and every CUDA device's generator are forked (``torch.manual_seed`` seeds all
    of them, so forking only some would leave the caller's other generators changed). ``None``
    forks without seeding (deterministic explainers).
    """
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            torch.manual_seed(seed)
        yield


EXPLAINERS: dict[str, type["Explainer"]] = {}
"""Every explainer class by name, in definition order; filled as classes are defined (see the module docstring)."""

COMMON_HELP = {"batch_size": "most perturbed inputs sent through the model at once (default: per architecture)",
               "seed": "seed of the random number generators of stochastic methods (the caller's state is kept)"}


def model_kind(model: Any) -> str:
    """``"pair"`` for a sentence-pair model, ``"text"`` for a single-text one."""
    return "pair" if getattr(model, "pair", False) or getattr(model, "config", {}).get("pair", False) else "text"


class Explainer:
    """Base class. Subclasses set ``name`` (which registers them) and implement :meth:`attribute`.

    Args:
        model: the model to explain (a single-text or a sentence-pair model, as ``supports`` allows).
        batch_size: most variants sent through the model at once (default per architecture:
            :func:`core.explain.features.explain_batch_size`).
        seed: seed of the random number generators for stochastic methods; the caller's
            random state is left untouched.
        **params: method parameters; stored in every :class:`Explanation`.

    Raises:
        ExplainError: the model is of a kind the explainer does not support, it lacks a part the
            explainer reads (a mask, attention), or a parameter is invalid.
    """

    name: ClassVar[str] = "abstract"
    label: ClassVar[str] = "abstract"  # what pages show for the method
    supports: ClassVar[frozenset[str]] = frozenset({"text"})
    requires_mask: ClassVar[bool] = False  # reads a mask model's own importance
    needs_likelihood: ClassVar[bool] = False  # takes ``likelihood``; the registry gives the shipped MLM by default
    deterministic: ClassVar[bool] = True
    signed: ClassVar[bool] = True
    param_help: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            EXPLAINERS[cls.name] = cls

    # Bumped when the algorithm changes its results for the same parameters (see key_params).
    version: ClassVar[int] = 1

    def __init__(self, model: Any, batch_size: int | None = None, seed: int = 0, **params: Any):
        if self.requires_mask and model.config.get("mask_config", {}).get("kind", "none") == "none":
            raise ExplainError(f"the {self.name} explainer needs a mask-trained model; "
                               f"{model.name or 'this model'} was trained with method {model.config.get('method')!r}")
        reason = self.skip_reason(model)
        if reason:
            raise ExplainError(reason)
        self.model, self.seed, self.params = model, seed, params
        self.batch_size = explain_batch_size(model) if batch_size is None else batch_size

    @classmethod
    def skip_reason(cls, model: Any) -> str | None:
        """Why this explainer cannot explain ``model`` (None when it can): its kind, a missing mask, a missing part."""
        kind = model_kind(model)
        name = getattr(model, "name", "") or "this model"
        if kind not in cls.supports:
            if kind == "pair":
                return (f"{name} is a sentence-pair model and {cls.name} explains single texts: explain two texts "
                        "with a pair explainer (core.explain.registry.explain_pair; CLI: --text-b; app: Sentence "
                        "pairs page)")
            return (f"{name} reads one text; the {cls.name} pair explainer needs a sentence-pair model "
                    "(see `python -m core.models list`, pair: true)")
        if cls.requires_mask and model.config.get("mask_config", {}).get("kind", "none") == "none":
            if model.config.get("hf"):  # a user's own Hugging Face classifier, not trained by MaskLens
                return (f"{cls.name} reads a MaskLens mask, and {name} is a Hugging Face classifier without one "
                        "(to train masks on its encoder: python -m core train --encoder ...)")
            return (f"{cls.name} reads the model's own mask, but {name} was trained without one "
                    f"(method {model.config.get('method', 'base')!r})")
        return cls.unsupported_reason(model)

    @classmethod
    def unsupported_reason(cls, model: Any) -> str | None:
        """Why this explainer cannot explain ``model`` beyond its kind and ``requires_mask`` (None when it can).

        Explainers that read a part only some models have (attention weights, the E-VarM gate)
        override this.
        """
        return None

    @classmethod
    def key_params(cls, model: Any, params: dict[str, Any], seed: int = 0) -> dict[str, Any]:
        """The parameters that identify this explainer's results on ``model`` (a store key), from the given ones.

        ``params`` plus ``"version"`` when :attr:`version` is above 1 (so results of an earlier
        algorithm are never served as this one's, while version-1 keys stay as they were). An
        explainer whose default resolves per model to settings that change the results
        (``marginal``'s budget) adds the resolved values too.
        """
        return {**params, **({"version": cls.version} if cls.version > 1 else {})}

    @classmethod
    def parameters(cls) -> list[Param]:
        """The declared parameters: every constructor keyword (besides ``model``) with its default and help."""
        signature = inspect.signature(cls.__init__)
        help_of = {**COMMON_HELP, **cls.param_help}
        return [Param(p.name, None if p.default is inspect.Parameter.empty else p.default, str(p.annotation),
                      help_of.get(p.name, "")) for p in signature.parameters.values()
                if p.name not in ("self", "model") and p.kind is p.POSITIONAL_OR_KEYWORD]

    def attribute(self, features: WordFeatures, target: int, probs: torch.Tensor
                  ) -> tuple[list[float], dict[str, Any]]:
        """Scores for the ``features.n_words`` words and JSON-ready details.

        Args:
            features: the encoded text or pair (one row each, on the model's device); its
                :meth:`~core.explain.features.WordFeatures.target_probs` scores word keep vectors.
            target: class to explain.
            probs: [C] predicted probabilities of the full input.

        Returns:
            ``(scores [n_words], details)``; a pair explainer may put ``details["groups"]`` (GMASK's
            word groups), which the record carries as :attr:`PairExplanation.groups`.
        """
        raise NotImplementedError

    def expected_passes(self, features: WordFeatures) -> int | None:
        """Classifier passes (input rows) that explaining ``features`` will cost, or None when unknown.

        Explainers override this so that a caller can estimate a long run's time before starting
        it (:func:`core.explain.registry.estimate_seconds`).
        """
        return None

    def explain(self, text: str, text_b: str | None = None, target: int | None = None) -> Explanation:
        """Explain the model's prediction for ``text`` (and ``text_b`` for a pair model), for class ``target``.

        Raises:
            ExplainError: a text is empty, only punctuation or has no word the model knows
                (:func:`core.explain.inputs.check_text` / :func:`~core.explain.inputs.check_pair`),
                the second text is missing for a pair model or given for a single-text one, or
                ``target`` is not a class index.
        """
        started = time.perf_counter()
        features = encode_features(self.model, text, text_b)
        self.model.model.eval()  # dropout off: explanations must be deterministic functions of the model
        with torch.no_grad():
            probs = features.probs()
        predicted = int(probs.argmax())
        target = predicted if target is None else check_target(target, self.model.label_names)
        with seeded_rng(self.seed), torch.no_grad():
            scores, details = self.attribute(features, target, probs)
        record = dict(text=text, words=features.words, scores=[float(s) for s in scores], method=self.name,
                      target=target, target_name=self.model.label_names[target], probs=probs.cpu().tolist(),
                      predicted=predicted, params=dict(self.params), seed=None if self.deterministic else self.seed,
                      model_name=self.model.name, truncated=features.truncated, signed=self.signed)
        if not features.pair:
            return Explanation(**record, details=details, seconds=time.perf_counter() - started)
        groups = details.pop("groups", [])
        return PairExplanation(**record, details=details, seconds=time.perf_counter() - started, text_b=text_b,
                               n_words_a=features.n_words_a, groups=groups)

    def explain_batch(self, texts: Sequence[str], targets: Sequence[int | None] | None = None,
                      texts_b: Sequence[str] | None = None) -> list[Explanation]:
        """Explain several texts (or pairs, with ``texts_b``): one :meth:`explain` each, variants batched inside."""
        targets = list(targets) if targets is not None else [None] * len(texts)
        seconds = list(texts_b) if texts_b is not None else [None] * len(texts)
        return [self.explain(text, text_b, target) for text, text_b, target in zip(texts, seconds, targets)]


def check_target(target: Any, label_names: Sequence[str]) -> int:
    """``target`` as an int class index, or :class:`ExplainError` naming the valid classes."""
    n_classes = len(label_names)
    if not isinstance(target, (int, np.integer)) or isinstance(target, bool) or not 0 <= target < n_classes:
        raise ExplainError(f"target must be a class index in 0..{n_classes - 1} "
                           f"({', '.join(label_names)}), got {target!r}")
    return int(target)
