"""Examples per second of explaining with the local engine and with Ray at 1 and 2 workers (side by side).

Usage::

    python bench/scale_out.py [--model cnn-vmask-movie-snippets] [--explainer lime] [--n 200]
                              [--workers 1,2] [--gpus-per-worker 0] [--address ADDRESS]

Each configuration explains the same ``--n`` seeded test examples into a fresh store (so nothing
is served from a cache), with the explainer's defaults; each Ray configuration starts a local Ray
with that many CPUs (or joins ``--address``) before the clock starts, and its time includes
creating the actors (each loads the model, and the MLM when needed, once). Prints seconds, examples per second, the speed-up over the local
engine and Ray's overhead at 1 worker, and checks that every configuration stored the same scores.
On a machine with GPUs, ``--gpus-per-worker 1 --workers 1,2,...`` puts one actor on each GPU.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def explain_all(model_name: str, explainer: str, n: int, engine, likelihood, dataset: str | None = None
                ) -> tuple[float, dict]:
    """(seconds, {id: scores}) of explaining ``n`` test examples into a fresh store with ``engine``."""
    from core.evaluation.common import explainer_params, fill_explanations, sample_ids
    from core.evaluation.store import EvaluationStore
    from core.data.datasets import load_dataset
    from core.data.model_data import model_dataset
    from core.models import load_model

    model = load_model(model_name, device="cpu")
    test = model_dataset(model.config, model.path, load_dataset(dataset) if dataset else None).test
    ids = sample_ids(list(test.ids), n, 0)
    store = EvaluationStore(tempfile.mkdtemp(prefix="scale-out-"))
    started = time.perf_counter()
    file, _ = fill_explanations(store, model, explainer, explainer_params(explainer, 0, None, model), ids,
                                dict(zip(test.ids, test.texts)), lambda: likelihood, engine=engine,
                                model_source=model_name)
    seconds = time.perf_counter() - started
    return seconds, {i: file.get(i)["scores"] for i in ids}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="cnn-vmask-movie-snippets")
    parser.add_argument("--explainer", default="lime")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--gpus-per-worker", type=float, default=0.0)
    parser.add_argument("--address")
    parser.add_argument("--dataset", help="a bundled dataset, for a Hugging Face classifier (hf:...)")
    args = parser.parse_args(argv)
    from core.evaluation.engines import LocalEngine, RayEngine
    from core.lm.mlm import load_likelihood
    from core.threads import apply_thread_policy

    threads = apply_thread_policy(1)  # one thread, as each Ray actor has: a like-for-like local baseline
    likelihood = load_likelihood("mlm", device="cpu")
    rows = [("local", *explain_all(args.model, args.explainer, args.n, LocalEngine(), likelihood, args.dataset))]
    for count in (int(w) for w in args.workers.split(",")):
        engine = RayEngine(address=args.address, workers=count, gpus_per_worker=args.gpus_per_worker)
        engine.connect()  # Ray's own start (about 5 s here) is not part of the work
        try:
            rows.append((f"ray x{count}", *explain_all(args.model, args.explainer, args.n, engine, likelihood,
                                                      args.dataset)))
        finally:
            engine.close()
    base = rows[0][1]
    print(f"{args.explainer} on {args.model}, n={args.n}, local torch threads {threads}, "
          f"gpus per worker {args.gpus_per_worker:g}")
    print(f"{'engine':<10} {'seconds':>8} {'examples/s':>11} {'x local':>8}")
    for name, seconds, _ in rows:
        print(f"{name:<10} {seconds:>8.2f} {args.n / seconds:>11.2f} {base / seconds:>8.2f}")
    same = all(scores == rows[0][2] for _, _, scores in rows)
    print(f"Ray overhead at 1 worker: {rows[1][1] / base:.2f}x the local time; same scores everywhere: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
