"""The Ray engine on a local Ray started by the test: the same explanations and numbers as the local engine,
resume after the driver is killed, a killed worker's shard retried (skipped when ray is not installed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.test_app import REPO_ROOT

ray = pytest.importorskip("ray", reason="ray is not installed (pip install -r requirements-ray.txt)")

MODEL = "cnn-vmask-movie-snippets"
EXPLAINERS = ["zero", "lime", "marginal"]
PARAMS = {"lime": {"n_samples": 100}}
N = 40


def test_importing_core_never_imports_ray():
    code = ("import sys, core, core.models, core.explain, core.evaluation, core.evaluate, core.explain.batch, "
            "core.evaluation.engines; print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def evaluate_cli(home, *extra, env_extra=None, **popen):
    env = {**os.environ, "MASKLENS_HOME": str(home), **(env_extra or {})}
    command = [sys.executable, "-m", "core", "evaluate", "--model", MODEL, "--explainers", "zero,lime",
               "--metrics", "aopc", "--n", str(N), "--param", "lime.n_samples=100", "--format", "json",
               "--no-progress", "--engine", "ray", "--workers", "2", *extra]
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, **popen)


def test_a_killed_driver_resumes_from_the_store_and_recomputes_nothing_stored(tmp_path):
    from core.evaluation.runner import evaluate
    from core.evaluation.store import EvaluationStore

    home, ready = tmp_path / "home", tmp_path / "ready"
    first = evaluate_cli(home, env_extra={"MASKLENS_FAULT_POINT": "store.flush.after_replace",
                                          "MASKLENS_FAULT_READY": str(ready)})
    deadline = time.monotonic() + 240
    while not ready.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ready.exists(), first.communicate()[1][-2000:]
    os.killpg(first.pid, signal.SIGKILL)  # the driver and the local Ray it started
    first.wait(timeout=30)
    second = evaluate_cli(home)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err[-2000:]
    records = {r["explainer"]: r for r in json.loads(out)}
    assert 0 < records["zero"]["explained"] < N  # the first flush's explanations were kept, not redone
    local = {r["explainer"]: r for r in evaluate(MODEL, explainers=["zero", "lime"], metrics=["aopc"], n=N,
                                                  params=PARAMS, store=EvaluationStore(tmp_path / "local"),
                                                  progress=False, device="cpu")}
    for name in ("zero", "lime"):
        assert records[name]["metrics"]["aopc"]["value"] == local[name]["metrics"]["aopc"]["value"]


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    marker = tmp_path_factory.mktemp("ray") / "worker-killed"
    os.environ["MASKLENS_RAY_KILL_ONCE"] = str(marker)  # passed to the workers: the first shard's worker dies
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"MASKLENS_RAY_KILL_ONCE": str(marker), "PYTHONPATH": str(REPO_ROOT)}})
    yield marker
    ray.shutdown()
    os.environ.pop("MASKLENS_RAY_KILL_ONCE", None)


def stored_scores(store, model, names):
    from core.evaluation.common import explainer_params

    out = {}
    for name in names:
        file = store.explanations(model.config["weights_sha256"], name, explainer_params(name, 0, PARAMS.get(name),
                                                                                         model), model_name=model.name)
        out[name] = {i: e["scores"] for i, e in file.data["explanations"].items()}
    return out


def test_ray_gives_exactly_the_local_explanations_and_metrics_even_when_a_worker_dies(local_ray, tmp_path):
    from core.evaluation.engines import RayEngine
    from core.evaluation.runner import evaluate
    from core.evaluation.store import EvaluationStore
    from core.lm.mlm import load_likelihood
    from core.models import load_model

    likelihood = load_likelihood("mlm", device="cpu")
    options = dict(explainers=EXPLAINERS, metrics=["aopc", "comprehensiveness"], n=N, params=PARAMS, progress=False,
                   device="cpu", likelihood=likelihood)
    local_store, ray_store = EvaluationStore(tmp_path / "local"), EvaluationStore(tmp_path / "ray")
    local = evaluate(MODEL, store=local_store, **options)
    local_ray.unlink(missing_ok=True)
    shards: list[tuple[int, int]] = []
    engine = RayEngine(workers=2, on_shard=lambda done, total: shards.append((done, total)),
                       min_remote_rows=1)  # the metrics' 200-400-row scorer calls go to the actors too
    try:
        remote = evaluate(MODEL, store=ray_store, engine=engine, **options)
    finally:
        engine.close()
    assert local_ray.exists(), "no worker was killed: the retry was not exercised"
    assert shards and shards[-1][0] == shards[-1][1]
    assert engine.scored_rows > 0, "the metrics' forward passes did not run on the actors"
    for a, b in zip(local, remote):
        assert a["explainer"] == b["explainer"] and b["explained"] == N
        assert a["metrics"] == b["metrics"]
    model = load_model(MODEL, device="cpu")
    assert stored_scores(local_store, model, EXPLAINERS) == stored_scores(ray_store, model, EXPLAINERS)


def test_a_node_with_another_model_is_refused(local_ray, tmp_path):
    from core.evaluation.common import fill_explanations
    from core.evaluation.engines import RayEngine
    from core.evaluation.store import EvaluationStore
    from core.models import load_model

    model = load_model(MODEL, device="cpu")
    model.config = {**model.config, "weights_sha256": "0" * 64}  # what the driver believes it explains
    engine = RayEngine(workers=1)
    try:
        with pytest.raises(Exception, match="another model than the driver's"):
            fill_explanations(EvaluationStore(tmp_path), model, "zero", {}, ["a"], {"a": "a fine film"},
                              engine=engine, model_source=MODEL)
    finally:
        engine.close()


def test_a_metric_scorer_on_the_actors_gives_the_local_rows_in_order(local_ray):
    from core.data.datasets import load_dataset
    from core.evaluation.engines import SCORE_BATCH, RayEngine
    from core.metrics import model_scorer
    from core.models import load_model

    model = load_model(MODEL, device="cpu")
    local = model_scorer(model)
    texts = [text.split() for text in load_dataset("movie-snippets").test.texts[:130]]
    word_lists = [words[:k] for words in texts for k in range(1, 11)]  # 1,300 rows: three batches, several shards
    engine = RayEngine(workers=2)
    try:
        remote = engine.scorer(model, MODEL, local)(word_lists)
    finally:
        engine.close()
    assert len(word_lists) > 2 * SCORE_BATCH and engine.scored_rows == len(word_lists)
    np.testing.assert_array_equal(remote, local(word_lists))
