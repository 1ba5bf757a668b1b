"""Budgeted vs exact input marginalization on a transformer classifier (the shipped MiniLM-VMASK).

Usage::

    python bench/marginal_budget.py [--n 50] [--max-words 8] [--budgets 32,64,128,256] [--seeds 5]
                                    [--time-limit 2400] [--out results.json]

For each of ``--n`` seeded test sentences of movie-snippets with at most ``--max-words``
words (exact marginalization costs about 2,600 classifier passes per word, so long sentences
do not fit a CPU run), it computes exact marginalization once, keeping p(y | c, x_-i) of every
kept candidate, and then replays the budgeted mode for every budget and seed from those
probabilities (the same :func:`core.explain.marginal.budget_position` draws as a real run; the
first sentence checks that the replay equals a real budgeted run, and that exact
replayed equals ``explain(..., budget="exact")``). Per budget it prints:

- the largest |score difference| to exact (log2 odds) and the mean of |difference|,
- the mean reported standard error (``score_se``) and how often |difference| <= 2 SE,
- the mean Kendall tau between the budgeted and the exact word ranking,
- seconds per sentence of a real budgeted run, of exact, and of zero erasure, measured
  interleaved per sentence, and the budgeted / zero ratio (the issue's target: <= 75x).

Sentences are processed until ``--time-limit`` seconds have passed; the count reached is printed.
With ``--out``, a later run with the same file goes on after the sentences it holds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.stats import kendalltau  # noqa: E402

from core.data.datasets import load_dataset  # noqa: E402
from core.data.text import split_words  # noqa: E402
from core.explain.base import log2_odds  # noqa: E402
from core.explain.marginal import HEAD_SHARE, budget_position, log2_odds_slope  # noqa: E402
from core.explain.registry import get_explainer  # noqa: E402
from core.lm.mlm import load_likelihood  # noqa: E402
from core.models import load_model  # noqa: E402

MODEL = "minilm-vmask-movie-snippets"


def pick_sentences(n: int, max_words: int, seed: int) -> list[str]:
    """``n`` test sentences with at most ``max_words`` words, a seeded sample in test-set order."""
    texts = [t for t in load_dataset("movie-snippets").test.texts if len(split_words(t)) <= max_words]
    chosen = np.random.default_rng(seed).choice(len(texts), size=min(n, len(texts)), replace=False)
    return [texts[i] for i in sorted(chosen)]


def replay(plan, all_probs, p_full: float, budget: int | None, seed: int,
           head_share: float = HEAD_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """(scores [n_words], score_se [n_words]) of the budgeted mode replayed from exact candidate probabilities."""
    rng = np.random.default_rng(seed)
    p_without, p_se = [], []
    for (_, weights), probs in zip(plan, all_probs):
        plan_i = budget_position(weights, budget, rng, head_share)
        p, se = plan_i.estimate(weights, probs[plan_i.evaluated]) if len(weights) else (np.nan, 0.0)
        p_without.append(p)
        p_se.append(se)
    p_without, p_se = np.array(p_without), np.array(p_se)
    return log2_odds(p_full) - log2_odds(p_without), p_se * log2_odds_slope(p_without)


def save_candidates(path: Path, plan, probs, p_full: float) -> None:
    """Write one sentence's kept-candidate weights and probabilities (ragged, as flat arrays and sizes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, weights=np.concatenate([w for _, w in plan]), probs=np.concatenate(probs),
             sizes=np.array([len(w) for _, w in plan]), p_full=np.array(p_full))


def load_candidates(path: Path) -> tuple[list, list, float]:
    """(plan with weights only, probs, p_full) as :func:`save_candidates` wrote them."""
    with np.load(path, allow_pickle=False) as data:
        cuts = np.cumsum(data["sizes"])[:-1]
        weights, probs = np.split(data["weights"], cuts), np.split(data["probs"], cuts)
        return [(None, w) for w in weights], probs, float(data["p_full"])


def replay_cache(folder: Path, budgets: list[int], shares: list[float], n_seeds: int) -> None:
    """Print, per (budget, head share), the error figures replayed from every cached sentence."""
    cached = [load_candidates(path) for path in sorted(folder.glob("*.npz"))]
    print(f"{len(cached)} cached sentences")
    print("budget  share  max|diff|  mean|diff|  mean SE  |diff|<=2SE  Kendall tau")
    for budget in budgets:
        for share in shares:
            diffs, ses, taus = [], [], []
            for plan, probs, p_full in cached:
                exact = replay(plan, probs, p_full, None, 0)[0]
                for seed in range(n_seeds):
                    scores, se = replay(plan, probs, p_full, budget, seed, share)
                    diffs.append(np.abs(scores - exact))
                    ses.append(se)
                    taus.append(kendalltau(scores, exact)[0] if len(scores) > 1 else 1.0)
            d, e = np.concatenate(diffs), np.concatenate(ses)
            print(f"{budget:>6}  {share:>5.2f}  {np.nanmax(d):>9.4f}  {np.nanmean(d):>10.4f}  {np.mean(e):>7.4f}  "
                  f"{np.mean(d <= 2 * e + 1e-12):>11.2f}  {np.nanmean(taus):>11.3f}")


def timed(fn, *args):
    """(result, seconds) of one call."""
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def exact_candidates(explainer, text: str, target: int):
    """(plan, per word [k] p(y | c, x_-i) of every kept candidate, seconds): exact marginalization's work."""
    started = time.perf_counter()
    batch = explainer.model.encode([text]).to(explainer.model.device)
    plan = explainer.candidate_plan(list(batch.words[0]))
    with torch.inference_mode():
        probs, _ = explainer._candidate_probs(batch, plan, target)
    return plan, probs, time.perf_counter() - started


def main() -> None:
    """Measure and print (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--max-words", type=int, default=8)
    parser.add_argument("--budgets", default="32,64,128,256")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=2400.0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=None, help="write per-sentence results as JSON")
    parser.add_argument("--cache", default=None,
                        help="folder for each sentence's exact candidate probabilities (.npz), for --replay-only")
    parser.add_argument("--replay-only", action="store_true",
                        help="no model runs: replay --budgets x --shares from the --cache folder")
    parser.add_argument("--shares", default=str(HEAD_SHARE), help="head shares to replay (with --replay-only)")
    args = parser.parse_args()
    if args.replay_only:
        replay_cache(Path(args.cache), [int(b) for b in args.budgets.split(",")],
                     [float(x) for x in args.shares.split(",")], args.seeds)
        return
    budgets = [int(b) for b in args.budgets.split(",")]
    model = load_model(MODEL, device=args.device)
    likelihood = load_likelihood("mlm", dataset="movie-snippets", device=args.device)
    exact = get_explainer("marginal", model, likelihood=likelihood, budget="exact")
    zero = get_explainer("zero", model)
    budgeted = {b: get_explainer("marginal", model, likelihood=likelihood, budget=b) for b in budgets}
    texts = pick_sentences(args.n, args.max_words, seed=0)
    print(f"{MODEL} on {model.device}, {torch.get_num_threads()} threads; {len(texts)} sentences of <= "
          f"{args.max_words} words; budgets {budgets}, {args.seeds} seeds", flush=True)
    zero.explain(texts[0])
    started, rows = time.perf_counter(), resumed_rows(args.out, texts)
    for k, text in enumerate(texts):
        if k < len(rows):  # measured by an earlier run with the same --out
            continue
        if time.perf_counter() - started > args.time_limit:
            break
        rows.append(measure_sentence(text, exact, zero, budgeted, args.seeds, check=k == 0,
                                     cache=Path(args.cache) / f"{k:03d}.npz" if args.cache else None))
        print(f"sentence {k + 1}: {rows[-1]['n_words']} words, exact {rows[-1]['exact_s']:.1f} s", flush=True)
        if args.out:
            Path(args.out).write_text(json.dumps(rows))
    report(rows, budgets)


def resumed_rows(out: str | None, texts: list[str]) -> list[dict]:
    """The rows an earlier run wrote to ``out`` for the first of ``texts`` (same seeded order), to go on from."""
    if not out or not Path(out).exists():
        return []
    rows = json.loads(Path(out).read_text())
    if [r["text"] for r in rows] != texts[: len(rows)]:
        raise SystemExit(f"{out} holds other sentences; give another --out")
    return [{**r, "budgets": {int(b): v for b, v in r["budgets"].items()}} for r in rows]


def measure_sentence(text, exact, zero, budgeted, n_seeds: int, check: bool, cache: Path | None = None) -> dict:
    """One sentence: exact once, zero and each budget timed for real, every (budget, seed) replayed."""
    erased, zero_s = timed(zero.explain, text)
    p_full = erased.probs[erased.target]
    plan, probs, exact_s = exact_candidates(exact, text, erased.target)
    exact_scores = replay(plan, probs, p_full, None, 0)[0]  # budget None: every candidate, no draws
    if cache is not None:
        save_candidates(cache, plan, probs, p_full)
    row = {"text": text, "n_words": len(exact_scores), "exact_s": exact_s, "zero_s": zero_s, "budgets": {}}
    for budget, explainer in budgeted.items():
        real, seconds = timed(explainer.explain, text)
        replays = [replay(plan, probs, p_full, budget, seed) for seed in range(n_seeds)]
        if check:  # the replay of seed 0 must be the real run
            assert np.allclose(replays[0][0], real.scores, atol=1e-9), "replay differs from a real budgeted run"
            assert np.allclose(exact_scores, exact.explain(text).scores, atol=1e-9), "replayed exact differs"
        diffs = [np.abs(scores - exact_scores) for scores, _ in replays]
        row["budgets"][budget] = {
            "seconds": seconds, "passes": int(sum(real.details["n_evaluated"])),
            "max_diff": float(max(d.max() for d in diffs)), "mean_diff": float(np.mean(np.concatenate(diffs))),
            "mean_se": float(np.mean([se.mean() for _, se in replays])),
            "covered": float(np.mean(np.concatenate([d <= 2 * se + 1e-12 for d, (_, se) in zip(diffs, replays)]))),
            "tau": float(np.mean([kendalltau(scores, exact_scores)[0] if len(scores) > 1 else 1.0
                                  for scores, _ in replays]))}
    return row


def report(rows: list[dict], budgets: list[int]) -> None:
    """Print one line per budget, aggregated over the sentences measured."""
    if not rows:
        print("no sentence measured")
        return
    zero_s = [r["zero_s"] for r in rows]
    print(f"{len(rows)} sentences ({statistics.mean(r['n_words'] for r in rows):.1f} words on average); exact "
          f"median {statistics.median(r['exact_s'] for r in rows):.2f} s, zero {statistics.median(zero_s):.3f} s")
    print("budget  passes/word  median s  x zero  max|diff|  mean|diff|  mean SE  |diff|<=2SE  Kendall tau")
    for b in budgets:
        cells = [r["budgets"][b] for r in rows]
        passes = sum(c["passes"] for c in cells) / sum(r["n_words"] for r in rows)
        ratio = statistics.median(c["seconds"] / r["zero_s"] for c, r in zip(cells, rows))
        print(f"{b:>6}  {passes:>11.1f}  {statistics.median(c['seconds'] for c in cells):>8.2f}  {ratio:>6.1f}  "
              f"{max(c['max_diff'] for c in cells):>9.4f}  {statistics.mean(c['mean_diff'] for c in cells):>10.4f}  "
              f"{statistics.mean(c['mean_se'] for c in cells):>7.4f}  "
              f"{statistics.mean(c['covered'] for c in cells):>11.2f}  "
              f"{statistics.mean(c['tau'] for c in cells):>11.3f}")


if __name__ == "__main__":
    main()
