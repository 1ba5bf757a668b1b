"""Seconds per sentence of every post-hoc explainer on a Hugging Face classifier (``hf:``), and ferret's when installed.

Usage::

    python scripts/make_hf_classifier.py --out /tmp/minilm-sentiment     # once: the packaged MiniLM + a head
    python bench/explain_hf.py --model /tmp/minilm-sentiment [--n 10] [--device auto] [--no-ferret]

The sentences are the first ``--n`` raw test sentences of movie-snippets of at most 25 words.
Each MaskLens explainer runs with its defaults (marginalization budgeted at 128 passes a word
with the shipped MLM, LIME 500 samples, Shapley 25 permutations, integrated gradients 50
steps), model and likelihood already loaded, after one warm-up sentence. When the ``ferret-xai``
package imports, ferret's explainers run on the same model object and sentences in the same
process (``ferret.Benchmark(model, tokenizer).explain(text, target)``, one explainer at a time).
Prints median and p90 seconds per sentence, and each as a multiple of MaskLens' zero erasure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.threads import apply_thread_policy  # noqa: E402

EXPLAINERS = ("zero", "unk", "marginal", "lime", "shapley", "grad_input", "integrated_gradients", "saliency")


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def sentences(n: int) -> list[str]:
    from core.data.bundled import load_dataset

    texts = [t for t in load_dataset("movie-snippets").test.texts if len(t.split()) <= 25]
    return texts[: n + 1]  # the first one is the warm-up


def time_each(explain, texts: list[str]) -> list[float]:
    explain(texts[0])
    out = []
    for text in texts[1:]:
        started = time.perf_counter()
        explain(text)
        out.append(time.perf_counter() - started)
    return out


def masklens_rows(model, texts: list[str], device: str) -> dict[str, list[float]]:
    from core.explain.registry import get_explainer
    from core.lm.mlm import load_likelihood

    likelihood = load_likelihood("mlm", device=device)
    rows = {}
    for name in EXPLAINERS:
        explainer = get_explainer(name, model, **({"likelihood": likelihood} if name == "marginal" else {}))
        rows[f"masklens {name}"] = time_each(explainer.explain, texts)
    return rows


def ferret_rows(model, texts: list[str]) -> dict[str, list[float]]:
    try:
        from ferret import Benchmark
    except Exception as error:  # not installed, or it does not import with this transformers
        print(f"ferret: not run ({type(error).__name__}: {str(error)[:120]})")
        return {}
    bench = Benchmark(model.model.hf, model.tokenizer.hf)
    rows = {}
    for explainer in bench.explainers:
        name = type(explainer).__name__
        target = 1

        def explain(text, explainer=explainer):
            explainer(text, target=target)

        try:
            rows[f"ferret {name}"] = time_each(explain, texts)
        except Exception as error:
            print(f"ferret {name}: failed ({type(error).__name__}: {str(error)[:120]})")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a Hugging Face classifier folder (or hf:...)")
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-ferret", action="store_true")
    args = parser.parse_args(argv)
    threads = apply_thread_policy()
    from core.models.loading import load_model

    source = args.model if args.model.startswith("hf:") else f"hf:{args.model}"
    model = load_model(source, device=args.device)
    texts = sentences(args.n)
    print(f"model {source} on {model.device}; {len(texts) - 1} sentences (mean "
          f"{statistics.mean(len(t.split()) for t in texts[1:]):.1f} words); torch threads {threads}")
    rows = masklens_rows(model, texts, args.device)
    if not args.no_ferret:
        rows.update(ferret_rows(model, texts))
    zero = statistics.median(rows["masklens zero"])
    print(f"{'explainer':<34} {'median s':>9} {'p90 s':>9} {'x zero':>8}")
    for name, values in rows.items():
        median = statistics.median(values)
        print(f"{name:<34} {median:>9.4f} {p90(values):>9.4f} {median / zero:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
