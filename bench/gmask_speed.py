"""Seconds per sentence pair of GMASK, IMASK and LIME on both shipped pair models.

Usage::

    python bench/gmask_speed.py [--n 20] [--n-minilm 5] [--device auto] [--threads 1]

Explains the first ``--n`` test pairs of ``trec6-answer-type-pairs`` (``--n-minilm`` for the
MiniLM similarity model, which is much heavier) with each method at its default settings
(GMASK/IMASK: 100 steps x 100 samples for DAttn, 30 x 32 for MiniLM; LIME 500 samples), model
loaded and one warm-up pair explained first, and prints median and p90 seconds per pair.
Every sample of an optimisation step goes through the model in one batch, on CUDA when present.
The GMASK paper reports 11-43 s per example on a GTX 1080 (its Table 7); target here: DAttn
GMASK under 5 s per pair on a CPU.
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

from core.data.pairs import TREC_PAIRS, trec_answer_type_pairs  # noqa: E402
from core.device import describe_device  # noqa: E402
from core.explain.registry import get_explainer  # noqa: E402
from core.models import load_model  # noqa: E402

METHODS = ("gmask", "imask", "lime")


def time_method(model, method: str, pairs: list[tuple[str, str]]) -> list[float]:
    """Seconds per pair (after one warm-up pair)."""
    explainer = get_explainer(method, model)
    explainer.explain(*pairs[0])
    seconds = []
    for text_a, text_b in pairs:
        started = time.perf_counter()
        explainer.explain(text_a, text_b)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--n-minilm", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: the small per-step batches gain nothing from more on a CPU)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    test = trec_answer_type_pairs().test
    pairs = list(zip(test.texts_a, test.texts_b))
    print(f"device: {describe_device()}, torch threads: {torch.get_num_threads()}")
    print(f"{'model':<40} {'method':<7} {'n':>3} {'median s/pair':>14} {'p90 s/pair':>11}")
    for name, n in ((f"dattn-{TREC_PAIRS}", args.n), (f"minilm-sim-{TREC_PAIRS}", args.n_minilm)):
        model = load_model(name, device=args.device)
        for method in METHODS:
            seconds = time_method(model, method, pairs[:n])
            print(f"{name:<40} {method:<7} {n:>3} {statistics.median(seconds):>14.3f} "
                  f"{float(np.percentile(seconds, 90)):>11.3f}", flush=True)


if __name__ == "__main__":
    main()
