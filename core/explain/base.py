"""The one contract every explainer follows, and the record evaluators consume.

An explainer is built once for a model (``Explainer(model, **params)``) and
answers ``explain(text, target=None) -> Explanation`` (and ``explain_batch``).
Scores are per word as :func:`core.data.text.split_words` splits the text,
signed: positive supports the explained class, negative opposes it. By default
the explained class is the predicted one.
"""

from __future__ import annotations

import contextlib

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from core.data.tokenizers import EncodedBatch
from core.models.factory import LoadedModel


DEFAULT_BATCH_SIZE = {"minilm": 64}  # rows per forward; word models use 512
WORD_MODEL_BATCH_SIZE = 512


class ExplainError(ValueError):
    """The input cannot be explained (empty text, only punctuation, no known word, bad target)."""


@dataclass
class Explanation:
    """One explanation of one prediction.

    Attributes:
        text: the text as given.
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


class Explainer:
    """Base class. Subclasses set ``name`` and implement :meth:`attribute`.

    Args:
        model: the model to explain.
        batch_size: most variants sent through the model at once (default 512 for word
            models, 64 for MiniLM, whose rows are much heavier).
        seed: seed of the random number generators for stochastic methods; the caller's
            random state is left untouched.
        **params: method parameters; stored in every :class:`Explanation`.
    """

    name = "abstract"
    label = "abstract"  # what pages show for the method
    requires_mask = False  # True for explainers reading a mask model's own importance
    deterministic = True

    def __init__(self, model: LoadedModel, batch_size: int | None = None, seed: int = 0, **params: Any):
        if model.config.get("pair"):
            raise ExplainError(f"{model.name or 'this model'} is a sentence-pair model: explain two texts with "
                               "core.explain.pair_registry.explain_pair (CLI: --text-b; app: Sentence pairs page)")
        if batch_size is None:
            batch_size = DEFAULT_BATCH_SIZE.get(model.config.get("architecture"), WORD_MODEL_BATCH_SIZE)
        if self.requires_mask and model.config.get("mask_config", {}).get("kind", "none") == "none":
            raise ExplainError(f"the {self.name} explainer needs a mask-trained model; "
                               f"{model.name or 'this model'} was trained with method {model.config.get('method')!r}")
        reason = self.unsupported_reason(model)
        if reason:
            raise ExplainError(reason)
        self.model, self.batch_size, self.seed, self.params = model, batch_size, seed, params

    @classmethod
    def unsupported_reason(cls, model: LoadedModel) -> str | None:
        """Why this explainer cannot explain ``model`` beyond ``requires_mask`` (None when it can).

        Explainers that read a part only some models have (attention weights,
        the E-VarM gate) override this; :func:`core.explain.registry.skip_reason` uses it.
        """
        return None

    def attribute(self, batch: EncodedBatch, target: int, probs: torch.Tensor) -> tuple[list[float], dict[str, Any]]:
        """Scores for the words of a one-example ``batch`` and JSON-ready details.

        Args:
            batch: the encoded text (one row, on the model's device).
            target: class to explain.
            probs: [C] predicted probabilities of the full text.
        """
        raise NotImplementedError

    def explain(self, text: str, target: int | None = None) -> Explanation:
        """Explain the model's prediction for ``text`` (for class ``target``, default the predicted one).

        Raises:
            ExplainError: the text is empty, only punctuation, has no word the model knows
                (see :func:`core.explain.inputs.check_text`), or ``target`` is not a class index.
        """
        from core.explain.inputs import check_text

        started = time.perf_counter()
        check = check_text(self.model, text)
        if not check.ok:
            raise ExplainError(check.error)
        self.model.model.eval()  # dropout off: explanations must be deterministic functions of the model
        batch = self.model.encode([text]).to(self.model.device)
        with torch.no_grad():
            probs = torch.softmax(self.model.model.classify(batch).logits[0], -1)
        predicted = int(probs.argmax())
        target = predicted if target is None else self._check_target(target)
        with seeded_rng(self.seed), torch.no_grad():
            scores, details = self.attribute(batch, target, probs)
        return Explanation(text=text, words=list(batch.words[0]), scores=[float(s) for s in scores], method=self.name,
                           target=target, target_name=self.model.label_names[target], probs=probs.cpu().tolist(),
                           predicted=predicted, params=dict(self.params), seed=None if self.deterministic else self.seed,
                           seconds=time.perf_counter() - started, model_name=self.model.name,
                           truncated=bool(batch.truncated[0]), details=details,
                           signed=bool(self.params.get("signed", True)))

    def explain_batch(self, texts: Sequence[str], targets: Sequence[int | None] | None = None) -> list[Explanation]:
        """Explain several texts (one :meth:`explain` each; variants inside are batched)."""
        targets = list(targets) if targets is not None else [None] * len(texts)
        return [self.explain(text, target) for text, target in zip(texts, targets)]

    def _check_target(self, target: int) -> int:
        return check_target(target, self.model.label_names)


def check_target(target: Any, label_names: Sequence[str]) -> int:
    """``target`` as an int class index, or :class:`ExplainError` naming the valid classes."""
    n_classes = len(label_names)
    if not isinstance(target, (int, np.integer)) or not 0 <= target < n_classes:
        raise ExplainError(f"target must be a class index in 0..{n_classes - 1} "
                           f"({', '.join(label_names)}), got {target!r}")
    return int(target)
