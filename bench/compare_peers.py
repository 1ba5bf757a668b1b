"""MaskLens's sampling and erasure explainers against the peer packages, on the same model and sentences.

Usage (the peers live in the benchmark's own environment, see bench/requirements-peers.txt)::

    python3 -m venv /tmp/peers
    .venv/bin/python -c "import site; print(site.getsitepackages()[0])" \\
        > /tmp/peers/lib/python3.11/site-packages/masklens.pth     # reuse the project venv's packages
    /tmp/peers/bin/pip install -r bench/requirements-peers.txt
    /tmp/peers/bin/python bench/compare_peers.py [--n 50] [--samples 500] [--seed 0] [--threads 2]

On ``--n`` seeded test sentences of movie-snippets and the shipped CNN-VMASK, interleaved per
sentence in one process (who runs first alternates), it times:

- ``lime``: MaskLens's LIME vs ``lime.lime_text.LimeTextExplainer``, both with ``--samples``
  samples (the explained text included). lime runs on MaskLens's words (a callable splitter,
  ``bow=False``: one feature per position, a removed word becomes lime's ``UNKWORDZ``, an unknown
  word to the CNN) with ``feature_selection="none"`` (one ridge fit on all words, lime's
  cheapest path);
- ``shapley``: MaskLens's Shapley value sampling (its default 25 permutations) vs shap's
  Partition explainer (``max_evals = --samples``, a ``Text`` masker splitting on spaces);
- ``zero``: MaskLens's zero erasure (probability measure) vs captum ``FeatureAblation``
  (``bench/explain_speed.py``'s ``feature_ablation``);
- ferret's explainers on the shipped MiniLM when ``ferret`` imports (else one line says so).

It prints per method: median and p90 seconds per sentence of each side, the ratio peer/ours
(of the medians, and the median of the per-sentence ratios), model evaluations per sentence
(rows through the model's forward, the full-text prediction included) and AOPC@5 (remove,
probability units; :func:`core.metrics.faithfulness.aopc` on the same model) of both rankings.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.data.datasets import load_dataset  # noqa: E402
from core.data.text import split_words  # noqa: E402
from core.explain.registry import get_explainer  # noqa: E402
from core.metrics.faithfulness import aopc, ranking_of  # noqa: E402
from core.metrics.perturbation import model_scorer  # noqa: E402
from core.models import load_model  # noqa: E402

MODEL = "cnn-vmask-movie-snippets"
HF_MODEL = "minilm-vmask-movie-snippets"
K = 5


@dataclass
class Side:
    """One explainer's runs: seconds [n], model evaluations [n] and scores per sentence."""

    seconds: list[float] = field(default_factory=list)
    evaluations: list[int] = field(default_factory=list)
    scores: list[list[float]] = field(default_factory=list)


class EvaluationCounter:
    """Counts the rows that go through ``model.model.forward_embeddings`` (every forward path of a MaskLens model)."""

    def __init__(self, model):
        self.rows = 0
        inner = model.model.forward_embeddings

        def counted(embeddings, *args, **kwargs):
            self.rows += int(embeddings.shape[0])
            return inner(embeddings, *args, **kwargs)

        model.model.forward_embeddings = counted

    def run(self, fn: Callable, *args) -> tuple[object, float, int]:
        """(result, seconds, evaluations) of one call."""
        self.rows = 0
        started = time.perf_counter()
        result = fn(*args)
        return result, time.perf_counter() - started, self.rows


# ---------------------------------------------------------------------------------------------- peers

def lime_peer(model, samples: int, seed: int) -> Callable[[str], list[float]]:
    """The lime package on MaskLens's words: text -> scores [n_words] of the predicted class (probability units)."""
    from lime.lime_text import LimeTextExplainer

    explainer = LimeTextExplainer(split_expression=lambda s: s.split(" "), bow=False, feature_selection="none",
                                  random_state=seed)

    def classifier_fn(texts: list[str]) -> np.ndarray:
        return model.predict_proba(list(texts))

    def explain(text: str) -> list[float]:
        words = split_words(text)
        exp = explainer.explain_instance(" ".join(words), classifier_fn, num_features=len(words), top_labels=1,
                                         num_samples=samples)
        weights = dict(exp.as_map()[exp.top_labels[0]])
        return [float(weights.get(i, 0.0)) for i in range(len(words))]

    return explain


def shap_peer(model, samples: int, seed: int) -> Callable[[str], list[float]]:
    """shap's Partition explainer, a space-splitting Text masker: text -> scores [n_words] of the predicted class."""
    import shap

    def f(texts) -> np.ndarray:
        return model.predict_proba([str(t) for t in texts])

    explainer = shap.Explainer(f, shap.maskers.Text(r" "), algorithm="partition", seed=seed)

    def explain(text: str) -> list[float]:
        words = split_words(text)
        values = explainer([" ".join(words)], max_evals=samples, silent=True)
        target = int(np.argmax(values.base_values[0] + values.values[0].sum(0)))
        return [float(v) for v in values.values[0][:, target]]

    return explain


def ablation_peer(model) -> Callable[[str, int], list[float]]:
    """captum FeatureAblation of p(target), zero baseline, one feature per word (bench/explain_speed.py's)."""
    from explain_speed import feature_ablation

    return lambda text, target: feature_ablation(model, text, target).tolist()


# ---------------------------------------------------------------------------------------------- runs

def interleaved(texts, counter, ours: Callable, peer: Callable, peer_needs_target: bool) -> tuple[Side, Side]:
    """Run ours and the peer on each sentence, alternating who goes first; both warmed up on the first sentence."""
    first = ours(texts[0])
    peer(texts[0], first.target) if peer_needs_target else peer(texts[0])
    mine, theirs = Side(), Side()
    for index, text in enumerate(texts):
        order = ("ours", "peer") if index % 2 == 0 else ("peer", "ours")
        target = None
        for who in order:
            if who == "ours":
                explanation, seconds, evaluations = counter.run(ours, text)
                target = explanation.target
                record(mine, explanation.scores, seconds, evaluations)
            else:
                args = (text, target if target is not None else ours(text).target) if peer_needs_target else (text,)
                scores, seconds, evaluations = counter.run(peer, *args)
                record(theirs, scores, seconds, evaluations)
    return mine, theirs


def record(side: Side, scores, seconds: float, evaluations: int) -> None:
    """Append one run to ``side``."""
    side.scores.append([float(s) for s in scores])
    side.seconds.append(seconds)
    side.evaluations.append(evaluations)


def aopc_at_k(model, texts, sides_scores: list[list[float]]) -> float:
    """AOPC@K (remove, probability units) of the signed score rankings [n sentences] on ``model``."""
    examples = [(split_words(t), ranking_of(s)) for t, s in zip(texts, sides_scores)]
    return aopc(model_scorer(model), examples, k_max=K).value


def p90(values: list[float]) -> float:
    return float(np.percentile(values, 90))


def report_row(method: str, peer: str, model, texts, mine: Side, theirs: Side) -> None:
    """One line of the table: times, ratios, evaluations and AOPC@K of both."""
    ratio_medians = statistics.median(theirs.seconds) / statistics.median(mine.seconds)
    ratio_paired = statistics.median(t / m for t, m in zip(theirs.seconds, mine.seconds))
    print(f"{method:<8} {peer:<26} {statistics.median(mine.seconds):8.4f} {p90(mine.seconds):8.4f} "
          f"{statistics.median(theirs.seconds):8.4f} {p90(theirs.seconds):8.4f} {ratio_medians:6.2f}x "
          f"{ratio_paired:6.2f}x {np.mean(mine.evaluations):7.0f} {np.mean(theirs.evaluations):7.0f} "
          f"{aopc_at_k(model, texts, mine.scores):6.3f} {aopc_at_k(model, texts, theirs.scores):6.3f}", flush=True)


HEADER = (f"{'method':<8} {'peer':<26} {'ours med':>8} {'ours p90':>8} {'peer med':>8} {'peer p90':>8} "
          f"{'ratio':>7} {'paired':>7} {'evals':>7} {'p.evals':>7} {'AOPC@' + str(K):>6} {'peer':>6}")


def run_ferret(texts, seed: int) -> None:
    """ferret's explainers vs MaskLens on the shipped MiniLM, or one line saying why not."""
    try:
        import ferret  # noqa: F401
    except ImportError:
        print(f"ferret: not installed (pip install ferret-xai in the benchmark environment); skipped {HF_MODEL}")
        return
    print(f"ferret: importable, but this script does not yet wrap {HF_MODEL} as the Hugging Face model ferret "
          "expects; skipped")


def main() -> None:
    """Parse the options, run every comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50, help="seeded test sentences")
    parser.add_argument("--samples", type=int, default=500, help="LIME samples (both), shap's max_evals")
    parser.add_argument("--seed", type=int, default=0, help="sentence sample and explainer seed")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--methods", default="lime,shapley,zero", help="comma-separated subset to compare")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(MODEL, device="cpu")
    test = list(load_dataset("movie-snippets").test.texts)
    texts = random.Random(args.seed).sample(test, min(args.n, len(test)))
    counter = EvaluationCounter(model)
    print(f"{MODEL}, {len(texts)} seeded test sentences (seed {args.seed}), {torch.get_num_threads()} torch threads, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; times in s per sentence")
    print(HEADER)
    methods = args.methods.split(",")
    if "lime" in methods:
        ours = get_explainer("lime", model, n_samples=args.samples, seed=args.seed)
        report_row("lime", "lime LimeTextExplainer", model, texts,
                   *interleaved(texts, counter, ours.explain, lime_peer(model, args.samples, args.seed), False))
    if "shapley" in methods:
        ours = get_explainer("shapley", model, seed=args.seed)
        report_row("shapley", "shap Partition", model, texts,
                   *interleaved(texts, counter, ours.explain, shap_peer(model, args.samples, args.seed), False))
    if "zero" in methods:
        ours = get_explainer("zero", model, measure="probability")
        report_row("zero", "captum FeatureAblation", model, texts,
                   *interleaved(texts, counter, ours.explain, ablation_peer(model), True))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    run_ferret(texts, args.seed)


if __name__ == "__main__":
    main()
