"""Speed of every explainer on movie-snippets test sentences with the shipped CNN-VMASK.

Usage::

    python bench/explain_speed.py [--n 100] [--reference-n 3] [--likelihood mlm] [--device auto]

Prints, for ``--n`` test sentences:
- median and p90 seconds per sentence of each explainer (vmask, zero, unk,
  marginal, lime, shapley), model and likelihood already loaded;
- the mean number of marginalization candidates per position at sigma = 1e-5
  and 1e-4;
- the speed-up of batched marginalization over the per-candidate loop of
  Algorithm 1 (``marginalize_reference``) on the first ``--reference-n``
  sentences (the loop is slow), with the largest absolute score difference;
- zero erasure against captum's FeatureAblation (probability measure): the
  largest absolute difference and both median times.
Targets (README): marginalization median < 0.5 s on a 2-core CPU; >= 20x
faster than the loop with scores equal to 1e-5; zero equal to FeatureAblation
and not slower.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.data.datasets import load_dataset  # noqa: E402
from core.explain.marginal import marginalize_reference  # noqa: E402
from core.explain.registry import get_explainer  # noqa: E402
from core.lm.mlm import load_likelihood  # noqa: E402
from core.models import load_model  # noqa: E402

MODEL = "cnn-vmask-movie-snippets"
METHODS = ("vmask", "zero", "unk", "marginal", "lime", "shapley")


def timed(fn, *args):
    """(result, seconds) of one call."""
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def summary(seconds: list[float]) -> str:
    """'median / p90' in seconds."""
    return f"{statistics.median(seconds):.4f} / {float(np.percentile(seconds, 90)):.4f}"


def feature_ablation(model, text: str, target: int) -> np.ndarray:
    """captum FeatureAblation of p(target) over words, zero baseline, one feature per word."""
    from captum.attr import FeatureAblation

    batch = model.encode([text]).to(model.device)
    emb = model.model.embed(batch.input_ids)
    feature_mask = batch.word_ids.clamp(min=0).unsqueeze(-1).expand_as(emb)

    def forward(embeddings):
        attention = batch.attention_mask.expand(embeddings.shape[0], -1)
        return torch.softmax(model.model.forward_embeddings(embeddings, attention).logits, -1)[:, target]

    with torch.no_grad():
        attr = FeatureAblation(forward).attribute(emb, baselines=0.0, feature_mask=feature_mask,
                                                  perturbations_per_eval=512)
    return attr[0, :, 0][batch.token_mask[0]].cpu().numpy()


def main() -> None:
    """Run all measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--reference-n", type=int, default=3)
    parser.add_argument("--likelihood", default="mlm")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    model = load_model(MODEL, device=args.device)
    likelihood = load_likelihood(args.likelihood, dataset="movie-snippets", device=args.device)
    texts = list(load_dataset("movie-snippets").test.texts[: args.n])
    print(f"{MODEL} on {model.device}, likelihood {likelihood.name}, {len(texts)} test sentences, "
          f"{torch.get_num_threads()} CPU threads")
    explainers = {m: get_explainer(m, model, **({"likelihood": likelihood} if m == "marginal" else {}))
                  for m in METHODS}
    explainers["marginal"].explain(texts[0])  # warm-up (first MLM call allocates)
    results = {}
    for method, explainer in explainers.items():
        runs = [timed(explainer.explain, text) for text in texts]
        results[method] = [r for r, _ in runs]
        print(f"{method:<9} median / p90 s per sentence: {summary([s for _, s in runs])}", flush=True)
    for sigma in (1e-5, 1e-4):
        explainer = get_explainer("marginal", model, likelihood=likelihood, sigma=sigma)
        counts = [n for text in texts for n in explainer.explain(text).details["n_candidates"]]
        print(f"mean candidates per position at sigma={sigma:g}: {np.mean(counts):.1f}")
    compare_reference(model, likelihood, texts[: args.reference_n], explainers["marginal"])
    compare_feature_ablation(model, texts)


def compare_reference(model, likelihood, texts, explainer) -> None:
    """Batched marginalization vs the per-candidate loop: speed-up and max |difference|."""
    batched, loop, diff = [], [], 0.0
    for text in texts:
        explanation, seconds = timed(explainer.explain, text)
        batch = model.encode([text]).to(model.device)
        with torch.no_grad():
            (scores, _), loop_seconds = timed(marginalize_reference, model, batch, explanation.target, likelihood)
        batched.append(seconds)
        loop.append(loop_seconds)
        diff = max(diff, float(np.max(np.abs(np.array(scores) - np.array(explanation.scores)))))
    print(f"reference loop on {len(texts)} sentences: median {statistics.median(loop):.3f} s vs batched "
          f"{statistics.median(batched):.4f} s -> speed-up {sum(loop) / sum(batched):.1f}x; "
          f"max |score difference| {diff:.2e}")


def compare_feature_ablation(model, texts) -> None:
    """zero erasure (probability measure) vs captum FeatureAblation: max |difference| and median times."""
    explainer = get_explainer("zero", model, measure="probability")
    ours, theirs, diff = [], [], 0.0
    for text in texts:
        explanation, seconds = timed(explainer.explain, text)
        reference, ref_seconds = timed(feature_ablation, model, text, explanation.target)
        ours.append(seconds)
        theirs.append(ref_seconds)
        diff = max(diff, float(np.max(np.abs(reference - np.array(explanation.scores)))))
    print(f"zero vs captum FeatureAblation: max |difference| {diff:.2e}; median {statistics.median(ours):.4f} s "
          f"vs {statistics.median(theirs):.4f} s")


if __name__ == "__main__":
    main()
