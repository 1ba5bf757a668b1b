"""The CNN default trio (vmask + zero + marginal) on this code and on an earlier release, side by side.

Usage::

    python bench/trio_vs_release.py [--rev 945fb1e] [--n 40] [--rounds 2] [--threads 2]

``--rev`` is exported with ``git archive`` into a temporary folder. Each round runs
the release and this checkout once each, alternating, in fresh processes on the same
``--n`` movie-snippets test sentences with the shipped CNN-VMASK and the default MLM
(loaded and warmed up before timing, ``--threads`` torch threads). Prints per round and
version the median and p90 seconds per sentence of the three explanations together and
of marginalization alone, the p90 ratio (release / this), and the largest difference
between the two versions' scores. The default revision is the code issue 15 measured
(the last commit before its work began). Target (issue 15): this code's trio p90 under
half the release's in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TRIO = ("vmask", "zero", "marginal")
MODEL = "cnn-vmask-movie-snippets"


def worker(root: str, n: int, threads: int) -> None:
    """Time the trio with the ``core`` package under ``root``; print one JSON line."""
    sys.path.insert(0, root)
    import time

    import torch

    torch.set_num_threads(threads)
    from core.data.datasets import load_dataset
    from core.explain.registry import get_explainer
    from core.lm.mlm import load_likelihood
    from core.models import load_model

    likelihood, model = load_likelihood("mlm", dataset="movie-snippets"), load_model(MODEL)
    explainers = {m: get_explainer(m, model, **({"likelihood": likelihood} if m == "marginal" else {}))
                  for m in TRIO}
    texts = list(load_dataset("movie-snippets").test.texts[:n])
    explainers["marginal"].explain(texts[0])  # warm-up
    seconds, scores = {m: [] for m in TRIO}, []
    for text in texts:
        for method, explainer in explainers.items():
            started = time.perf_counter()
            explanation = explainer.explain(text)
            seconds[method].append(time.perf_counter() - started)
            if method == "marginal":
                scores.append(list(explanation.scores))
    print(json.dumps({"seconds": seconds, "scores": scores}))


def run(root: Path, n: int, threads: int) -> dict:
    """One timed process on the code under ``root``."""
    done = subprocess.run([sys.executable, __file__, "--worker", str(root), "--n", str(n), "--threads", str(threads)],
                          capture_output=True, text=True, check=True, cwd=root)
    return json.loads(done.stdout.strip().splitlines()[-1])


def export(rev: str, into: Path) -> Path:
    """The tree of ``rev`` written under ``into`` (``git archive``)."""
    archive = into / "release.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), rev], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "release", filter="data")
    return into / "release"


def summary(result: dict) -> tuple[float, float, float, float]:
    """(trio median, trio p90, marginal median, marginal p90) in seconds per sentence."""
    trio = np.sum([result["seconds"][m] for m in TRIO], axis=0)
    marginal = np.asarray(result["seconds"]["marginal"])
    return (float(np.median(trio)), float(np.percentile(trio, 90)), float(np.median(marginal)),
            float(np.percentile(marginal, 90)))


def main() -> None:
    """Alternate the release and this checkout for ``--rounds`` rounds and print both."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rev", default="945fb1e")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.n, args.threads)
        return
    print(f"CNN trio ({' + '.join(TRIO)}) on {args.n} test sentences, {args.threads} torch threads; "
          "seconds per sentence, median / p90")
    with tempfile.TemporaryDirectory() as tmp:
        release = export(args.rev, Path(tmp))
        for round_ in range(1, args.rounds + 1):
            before, now = run(release, args.n, args.threads), run(ROOT, args.n, args.threads)
            b, c = summary(before), summary(now)
            diff = max(float(np.max(np.abs(np.subtract(x, y)))) for x, y in zip(before["scores"], now["scores"]))
            print(f"round {round_}: release {args.rev} trio {b[0]:.3f} / {b[1]:.3f} (marginal {b[2]:.3f} / {b[3]:.3f})"
                  f"; this code trio {c[0]:.3f} / {c[1]:.3f} (marginal {c[2]:.3f} / {c[3]:.3f}); "
                  f"trio p90 ratio {b[1] / c[1]:.2f}x; largest marginal score difference {diff:.2e}", flush=True)


if __name__ == "__main__":
    main()
