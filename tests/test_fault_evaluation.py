"""Kill -9 tests of the evaluation store's flush, and the clean-up of what dead writers leave.

A child evaluation pauses at a fault point of :meth:`ExplanationFile.flush` (core.faults) and
is SIGKILLed there: the store file must be absent or complete JSON with every entry it had
before, the next run must remove the dead writer's temporary and lock files, and its metric
values must equal, bit for bit, those of an uninterrupted run in a fresh home.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.evaluation import EvaluationStore, evaluate

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL = "cnn-vmask-movie-snippets"
TIMEOUT = 120  # seconds; bounds every wait
RUN = dict(explainers=["zero"], metrics=["aopc"], n=30, seed=0, device="cpu", progress=False)
EVALUATE_SCRIPT = ("from core.evaluation import evaluate; evaluate('cnn-vmask-movie-snippets', explainers=['zero'], "
                   "metrics=['aopc'], n=30, seed=0, device='cpu', progress=False, flush_every=5)")
CLI = ["-m", "core.evaluate", "--model", MODEL, "--explainers", "zero", "--metrics", "aopc", "--n", "30",
       "--seed", "0", "--device", "cpu", "--no-progress"]  # flushes after 25 explanations (no --flush-every option)


def _kill_at(point: str, arguments: list[str], home: Path, tmp_path: Path) -> int:
    """Run ``python <arguments>`` with ``MASKLENS_HOME=home`` until it pauses at ``point``; SIGKILL it; its pid."""
    ready = tmp_path / "ready"
    log = tmp_path / "child.log"
    env = {**os.environ, "MASKLENS_HOME": str(home), "MASKLENS_FAULT_POINT": point, "MASKLENS_FAULT_READY": str(ready)}
    with open(log, "wb") as handle:
        child = subprocess.Popen([sys.executable, *arguments], cwd=REPO_ROOT, env=env, stdout=handle,
                                 stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not ready.exists():
            assert child.poll() is None, f"the child ended ({child.returncode}) before {point}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"the child did not reach {point} in {TIMEOUT} s"
            time.sleep(0.02)
        assert ready.read_text().split() == [str(child.pid), point]
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=TIMEOUT) == -signal.SIGKILL
        return child.pid
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The records of RUN in a fresh home."""
    return evaluate(MODEL, **RUN, store=EvaluationStore(tmp_path_factory.mktemp("fresh-home") / "evaluations"))


def _leftovers(home: Path) -> list[str]:
    """Temporary and lock files anywhere in the store."""
    return sorted(p.name for p in (home / "evaluations").rglob("*") if p.name.endswith((".tmp", ".lock")))


@pytest.mark.parametrize("point, arguments", [
    ("store.flush.before_replace", ["-c", EVALUATE_SCRIPT]),
    ("store.flush.after_replace", ["-c", EVALUATE_SCRIPT]),
    ("store.flush.before_replace", CLI),
], ids=["before_replace", "after_replace", "cli-before_replace"])
def test_kill_during_flush_loses_nothing_stored_and_resumes_identically(masklens_home, tmp_path, uninterrupted,
                                                                        point, arguments):
    evaluate(MODEL, **{**RUN, "n": 6, "seed": 1})  # a file with entries before the killed run
    (path,) = (masklens_home / "evaluations").glob("*/explanations/zero-*.json")
    before = json.loads(path.read_text())["explanations"]
    pid = _kill_at(point, arguments, masklens_home, tmp_path)

    after = json.loads(path.read_text())["explanations"]  # complete JSON, never half a file
    assert after.items() >= before.items()
    if point.endswith("before_replace"):
        assert after == before
        assert [p.name.split(".")[-3] for p in path.parent.glob(f".{path.name}.*.tmp")] == [str(pid)]
    else:
        assert len(after) == len(before) + 5  # the first flush, after 5 explanations
        assert path.with_name(path.name + ".lock").read_text().split() == [str(pid)]

    resumed = evaluate(MODEL, **RUN)
    assert _leftovers(masklens_home) == []
    assert resumed[0]["explained"] == len(set(_sample()) - set(after))  # only what the kill lost
    assert resumed[0]["metrics"] == uninterrupted[0]["metrics"]  # float == float: bit-identical
    assert json.dumps(resumed[0]["metrics"]) == json.dumps(uninterrupted[0]["metrics"])
    assert json.loads(path.read_text())["explanations"].items() >= after.items()


def _sample() -> list[str]:
    """The example ids RUN evaluates."""
    from core.data.datasets import load_dataset
    from core.evaluation.runner import sample_ids
    from core.models import load_model

    test = load_dataset(load_model(MODEL, device="cpu").config["dataset"]).test
    return sample_ids(list(test.ids), RUN["n"], RUN["seed"])


def test_remove_stale_temp_files_keeps_live_writers_and_other_names(tmp_path):
    from core.fileio import remove_stale_temp_files

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True, timeout=TIMEOUT)
    dead_pid = int(dead.stdout)
    names = [f".x.json.{dead_pid}.ab12cd_3.tmp", f".x.json.{os.getpid()}.ab12cd_3.tmp", ".x.json.ab12cd_3.tmp",
             f".x.json.lock.{dead_pid}.ab12cd_3.tmp", f".y.json.{dead_pid}.ab12cd_3.tmp", "x.json"]
    for name in names:
        (tmp_path / name).write_text("")
    assert remove_stale_temp_files(tmp_path, "x.json") == [tmp_path / names[0]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])
    assert remove_stale_temp_files(tmp_path / "absent", "x.json") == []


def test_file_lock_takes_over_a_dead_holders_file_and_removes_it(tmp_path):
    from core.fileio import file_lock

    lock = tmp_path / "x.json.lock"
    lock.write_text("999999999\n")  # left by a killed holder: the kernel released its lock
    with file_lock(lock):
        assert lock.read_text() == f"{os.getpid()}\n"
    assert not lock.exists()
    with file_lock(tmp_path / "new" / "y.lock") as held:
        assert held.is_file()
    assert not held.exists()
