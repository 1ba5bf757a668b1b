"""Speed of every explainer on movie-snippets test sentences with the shipped CNN-VMASK.

Usage::

    python bench/explain_speed.py [--n 100] [--reference-n 3] [--likelihood mlm] [--device auto]
                                  [--minilm-n 3] [--skip-cnn]

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
- the CNN default trio (vmask + zero + marginal together): median and p90;
- MiniLM rows (the shipped ``minilm-vmask-movie-snippets``) on the issue's sentence "a
  gripping , beautifully acted film" and ``--minilm-n - 1`` short test sentences: zero,
  LIME, budgeted marginalization (the default) and exact marginalization, each as seconds
  and as a multiple of zero erasure on the same sentence; exact marginalization's achieved
  GFLOP/s next to a plain float32 matmul's on this machine; and the budgeted mode's error
  figures against exact on those sentences (``bench/marginal_budget.py`` measures them on
  more sentences).
Targets (README): CNN marginalization median < 0.5 s on a 2-core CPU; >= 20x
faster than the loop with scores equal to 1e-5; zero equal to FeatureAblation
and not slower; MiniLM budgeted marginalization <= 75x zero erasure. The CNN trio
against an earlier release, side by side: ``bench/trio_vs_release.py``.
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
TRIO = ("vmask", "zero", "marginal")  # the Explain page's default methods
MINILM = "minilm-vmask-movie-snippets"
ISSUE_SENTENCE = "a gripping , beautifully acted film"


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
    parser.add_argument("--minilm-n", type=int, default=3, help="MiniLM sentences (exact takes minutes each)")
    parser.add_argument("--skip-cnn", action="store_true", help="only the MiniLM rows")
    args = parser.parse_args()
    likelihood = load_likelihood(args.likelihood, dataset="movie-snippets", device=args.device)
    if not args.skip_cnn:
        cnn_rows(args, likelihood)
    if args.minilm_n > 0:
        minilm_rows(args, likelihood)


def cnn_rows(args, likelihood) -> None:
    """Every explainer on the CNN, candidate counts, the reference loop, FeatureAblation, the trio."""
    model = load_model(MODEL, device=args.device)
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
    trio = [sum(e.seconds for e in explained) for explained in zip(*(results[m] for m in TRIO))]
    print(f"default trio ({' + '.join(TRIO)}) median / p90 s per sentence: {summary(trio)}")


def matmul_gflops(seconds: float = 1.0) -> float:
    """GFLOP/s of a plain float32 [4096, 384] x [384, 1536] matmul (MiniLM's feed-forward shape) here."""
    a, b = torch.randn(4096, 384), torch.randn(384, 1536)
    a @ b
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        a @ b
        n += 1
    return 2 * 4096 * 384 * 1536 * n / (time.perf_counter() - started) / 1e9


def bert_flops(config, tokens: int) -> float:
    """Forward FLOPs of one BERT-family encoder pass over ``tokens`` positions (matmuls only)."""
    h, ff, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    return layers * tokens * (2 * (4 * h * h + 2 * h * ff) + 4 * tokens * h)


def minilm_rows(args, likelihood) -> None:
    """zero, LIME, budgeted and exact marginalization on MiniLM, interleaved per sentence; GFLOP/s; errors."""
    from bench.marginal_budget import pick_sentences

    model = load_model(MINILM, device=args.device)
    texts = [ISSUE_SENTENCE] + pick_sentences(args.minilm_n - 1, 8, seed=0)
    explainers = {"zero": get_explainer("zero", model), "lime": get_explainer("lime", model),
                  "marginal (budgeted, default)": get_explainer("marginal", model, likelihood=likelihood),
                  "marginal (exact)": get_explainer("marginal", model, likelihood=likelihood, budget="exact")}
    explainers["zero"].explain(texts[0])
    seconds = {name: [] for name in explainers}
    flops, exact_seconds, errors, ses = 0.0, 0.0, [], []
    for text in texts:
        runs = {name: timed(e.explain, text) for name, e in explainers.items()}
        for name, (_, s) in runs.items():
            seconds[name].append(s)
        exact, budgeted = runs["marginal (exact)"][0], runs["marginal (budgeted, default)"][0]
        tokens = int(model.encode([text]).attention_mask[0].sum())
        flops += sum(exact.details["n_evaluated"]) * bert_flops(model.model.encoder.config, tokens)
        exact_seconds += runs["marginal (exact)"][1]
        errors.append(np.abs(np.array(budgeted.scores) - np.array(exact.scores)))
        ses.append(np.array(budgeted.details["score_se"]))
    print(f"{MINILM} on {model.device}, {len(texts)} sentences (first: {ISSUE_SENTENCE!r})")
    for name in explainers:
        ratios = [s / z for s, z in zip(seconds[name], seconds["zero"])]
        print(f"  {name:<29} s per sentence: {' '.join(f'{s:.2f}' for s in seconds[name])}; "
              f"x zero: {' '.join(f'{r:.0f}' for r in ratios)}")
    print(f"  exact marginalization: {flops / exact_seconds / 1e9:.1f} GFLOP/s achieved; plain float32 matmul "
          f"{matmul_gflops():.1f} GFLOP/s")
    error = np.concatenate(errors)
    print(f"  budgeted vs exact: max |score difference| {error.max():.4f}, mean {error.mean():.4f}, mean reported "
          f"SE {np.concatenate(ses).mean():.4f} log2 odds")


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
