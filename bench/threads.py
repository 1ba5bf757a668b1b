"""Seconds of a t-SNE and of a CNN training epoch per thread count, on an idle-ish and on a busy machine.

Usage::

    python bench/threads.py [--repeats 2] [--threads 1 2] [--competitors 2] [--n 500]

Every measurement runs in a fresh process (OpenMP pools and torch's inter-op threads are fixed once
started) with ``MASKLENS_THREADS`` and ``OMP_NUM_THREADS`` set to the thread count. "busy" runs
the same measurement next to ``--competitors`` busy-loop processes (one per core by default),
which is what a shared machine or the Streamlit process look like to OpenMP. Settings are
interleaved (idle 1, idle N, busy 1, busy N, then again) so a drifting machine load hits them
alike; the load average at each row is printed. Numbers, not assertions: the chosen policy is in
``core/threads.py`` and the README.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def tsne_seconds(n: int) -> float:
    """Seconds of :func:`core.representations.tsne_projection` on ``n`` clustered 300-d points."""
    import numpy as np

    from core.representations import tsne_projection

    rng = np.random.default_rng(0)
    points = rng.normal(size=(n, 300)).astype(np.float32) + np.repeat(rng.normal(size=(2, 300)) * 3, n // 2 + 1,
                                                                    axis=0)[:n]
    started = time.perf_counter()
    tsne_projection(points, seed=0, perplexity=30.0)
    return time.perf_counter() - started


def epoch_seconds(n: int) -> float:
    """Mean seconds per epoch (including the dev evaluation) of CNN base, ``n`` movie-snippets examples, 2 epochs."""
    from core.training import TrainSettings, train

    settings = TrainSettings(dataset="movie-snippets", architecture="cnn", method="base", epochs=2, max_train=n,
                             device="cpu", name="bench-threads")
    result = train(settings, save=False, progress=False)
    return sum(h["seconds"] for h in result.history) / len(result.history)


def worker(kind: str, n: int) -> None:
    """Apply the thread policy (from the environment), measure ``kind`` once, print JSON."""
    from core.threads import apply_thread_policy

    threads = apply_thread_policy()
    seconds = tsne_seconds(n) if kind == "tsne" else epoch_seconds(n)
    print(json.dumps({"kind": kind, "threads": threads, "seconds": round(seconds, 3)}))


def spin(seconds: float) -> None:
    """Burn one core for ``seconds`` (the competitor)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def measure(kind: str, threads: int, n: int, competitors: int) -> float:
    """Seconds reported by one worker process, with ``competitors`` busy loops running meanwhile."""
    env = {**os.environ, "MASKLENS_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    rivals = [multiprocessing.Process(target=spin, args=(600.0,), daemon=True) for _ in range(competitors)]
    for rival in rivals:
        rival.start()
    try:
        done = subprocess.run([sys.executable, __file__, "--worker", kind, "--n", str(n)], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=900, check=True)
    finally:
        for rival in rivals:
            rival.kill()
            rival.join()
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    """Interleave every (task, machine state, thread count) ``--repeats`` times and print one row each."""
    from core.threads import usable_cores

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, nargs="*", default=sorted({1, usable_cores()}))
    parser.add_argument("--competitors", type=int, default=usable_cores(), help="busy loops in the busy state")
    parser.add_argument("--n", type=int, default=500, help="t-SNE points and training examples")
    parser.add_argument("--tasks", nargs="*", default=["tsne", "epoch"], choices=["tsne", "epoch"])
    parser.add_argument("--worker", choices=["tsne", "epoch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.n)
    print(f"{usable_cores()} usable cores; n={args.n}; busy = {args.competitors} busy-loop processes")
    print(f"{'task':<6} {'machine':<8} {'threads':>7} {'seconds':>8} {'load1':>6}")
    for _ in range(args.repeats):
        for kind in args.tasks:
            for state, rivals in (("as-is", 0), ("busy", args.competitors)):
                for threads in args.threads:
                    seconds = measure(kind, threads, args.n, rivals)
                    print(f"{kind:<6} {state:<8} {threads:>7} {seconds:>8.2f} {os.getloadavg()[0]:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
