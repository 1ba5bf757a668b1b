"""The evaluation store with several writers at once, and with store files of the wrong shape.

Concurrent writers: real processes (and threads) fill the same explanations file; none may
lose the others' entries. Malformed files (valid JSON, an entry of the wrong shape) are moved
aside with a warning and recomputed instead of crashing every rerun.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from core.evaluation import EvaluationStore, evaluate
from core.evaluation.store import ExplanationFile

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL = "cnn-vmask-movie-snippets"
TIMEOUT = 120  # seconds; every wait below is bounded by it

# Role r of two processes adds its entry k right after the other role's entry k - 1 (or k,
# for role 1) is flushed: strict alternation, and both loaded the file before either wrote.
ALTERNATING_WRITER = r"""
import sys, time
from pathlib import Path
from core.evaluation.store import ExplanationFile

path, role, sync = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
deadline = time.monotonic() + float(sys.argv[4])

def wait_for(name):
    while not (sync / name).exists():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {name}")
        time.sleep(0.002)

file = ExplanationFile(path, {"explainer": "zero"})
(sync / f"loaded-{role}").touch()
wait_for(f"loaded-{1 - role}")
for k in range(30):
    turn = 2 * k + role
    if turn:
        wait_for(f"turn-{turn}")
    file.fill([f"{role}-{k}"], lambda i: {"words": ["w", i], "scores": [0.5, float(k)]}, flush_every=1)
    (sync / f"turn-{turn + 1}").touch()
"""

# evaluate() in a child process; both children open the store before either writes (a barrier in fill).
EVALUATE_WRITER = r"""
import json, sys, time
from pathlib import Path
import core.evaluation.store as store
from core.evaluation import EvaluationStore, evaluate

root, seed, sync, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
deadline = time.monotonic() + float(sys.argv[5])
fill = store.ExplanationFile.fill

def fill_after_barrier(self, *args, **kwargs):
    (sync / f"opened-{seed}").touch()
    while not all((sync / f"opened-{s}").exists() for s in (0, 1)):
        if time.monotonic() > deadline:
            sys.exit("timed out at the barrier")
        time.sleep(0.002)
    return fill(self, *args, **kwargs)

store.ExplanationFile.fill = fill_after_barrier
records = evaluate("cnn-vmask-movie-snippets", explainers=["zero"], metrics=["aopc"], n=40, seed=seed,
                   device="cpu", progress=False, store=EvaluationStore(root), flush_every=1)
out.write_text(json.dumps(records))
"""


def _run_pair(commands: list[list[str]], tmp_path: Path) -> None:
    """Run the commands at once (cwd: the repository) and fail on a non-zero exit or after TIMEOUT."""
    logs = [tmp_path / f"child-{i}.log" for i in range(len(commands))]
    processes = []
    try:
        for command, log in zip(commands, logs):
            with open(log, "wb") as handle:
                processes.append(subprocess.Popen(command, cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT))
        for process, log in zip(processes, logs):
            assert process.wait(timeout=TIMEOUT) == 0, log.read_text()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def _entries(path: Path) -> dict:
    return json.loads(path.read_text())["explanations"]


def test_two_processes_alternating_flushes_keep_all_entries(tmp_path):
    path, sync = tmp_path / "store" / "zero-x.json", tmp_path / "sync"
    sync.mkdir()
    _run_pair([[sys.executable, "-c", ALTERNATING_WRITER, str(path), str(role), str(sync), str(TIMEOUT)]
               for role in (0, 1)], tmp_path)
    entries = _entries(path)
    assert sorted(entries) == sorted(f"{role}-{k}" for role in (0, 1) for k in range(30))
    assert entries["1-7"] == {"words": ["w", "1-7"], "scores": [0.5, 7.0]}
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no lock or temp file left


def test_two_threads_keep_all_entries(tmp_path):
    """The lock is per open file, so threads of one process exclude each other too."""
    path = tmp_path / "zero-x.json"
    files = [ExplanationFile(path, {"explainer": "zero"}) for _ in range(2)]

    def write(role: int) -> None:
        files[role].fill([f"{role}-{k}" for k in range(30)], lambda i: {"words": [i], "scores": [1.0]}, 1)

    threads = [threading.Thread(target=write, args=(role,)) for role in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(_entries(path)) == 60


def test_an_id_on_disk_keeps_the_disk_entry_and_flush_brings_the_others_in(tmp_path):
    path = tmp_path / "zero-x.json"
    first, second = (ExplanationFile(path, {"explainer": "zero"}) for _ in range(2))
    first.add("shared", {"words": ["a"], "scores": [1.0]})
    first.add_error("bad", "no known word")
    first.flush()
    second.add("shared", {"words": ["a"], "scores": [2.0]})
    second.add("bad", {"words": ["b"], "scores": [3.0]})
    second.add("own", {"words": ["c"], "scores": [4.0]})
    second.flush()
    data = json.loads(path.read_text())
    assert data["explanations"] == {"shared": {"words": ["a"], "scores": [1.0]},
                                    "own": {"words": ["c"], "scores": [4.0]}}
    assert data["errors"] == {"bad": "no known word"}
    assert second.get("shared")["scores"] == [1.0] and second.get("bad") is None
    assert second.error("bad") == "no known word"


def test_two_evaluate_processes_lose_nothing_and_match_single_runs(tmp_path):
    root, sync = tmp_path / "shared", tmp_path / "sync"
    sync.mkdir()
    outs = [tmp_path / f"records-{seed}.json" for seed in (0, 1)]
    _run_pair([[sys.executable, "-c", EVALUATE_WRITER, str(root), str(seed), str(sync), str(out), str(TIMEOUT)]
               for seed, out in zip((0, 1), outs)], tmp_path)
    wanted = set()
    for seed, out in zip((0, 1), outs):
        alone_root = tmp_path / f"alone-{seed}"
        alone = evaluate(MODEL, explainers=["zero"], metrics=["aopc"], n=40, seed=seed, device="cpu",
                         progress=False, store=EvaluationStore(alone_root))
        concurrent = json.loads(out.read_text())
        assert concurrent[0]["explained"] >= 1
        assert concurrent[0]["metrics"] == json.loads(json.dumps(alone[0]["metrics"]))  # bit-identical floats
        (alone_path,) = alone_root.glob("*/explanations/zero-*.json")
        wanted |= set(_entries(alone_path))
    (path,) = root.glob("*/explanations/zero-*.json")
    assert set(_entries(path)) == wanted and len(wanted) > 40  # both samples' explanations, none lost
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


# Malformed store files: valid JSON, an entry of the wrong shape.

ZERO = dict(explainers=("zero",), metrics=("aopc", "posthoc"), n=3, device="cpu", progress=False)


@pytest.fixture(scope="module")
def clean_store(tmp_path_factory):
    """(records, store root) of ZERO in a fresh store."""
    root = tmp_path_factory.mktemp("clean")
    return evaluate(MODEL, **ZERO, store=EvaluationStore(root)), root


def _copy_of(clean_store, tmp_path: Path) -> tuple[list, EvaluationStore, Path]:
    records, root = clean_store
    shutil.copytree(root, tmp_path / "store")
    return records, EvaluationStore(tmp_path / "store"), tmp_path / "store"


def _break_first_explanation(data: dict, how: str) -> None:
    example_id = next(iter(data["explanations"]))
    entry = data["explanations"][example_id]
    if how == "not a dict":
        data["explanations"][example_id] = "words and scores"
    elif how in ("no words", "no scores"):
        del entry[how.split()[1]]
    elif how == "scores too short":
        entry["scores"] = entry["scores"][:-1]
    elif how == "scores not numbers":
        entry["scores"] = [str(s) for s in entry["scores"]]
    elif how == "words not strings":
        entry["words"] = [1] * len(entry["words"])
    elif how == "error not a string":
        data["errors"] = {"some-id": {"message": "why"}}
    elif how == "explanations a list":
        data["explanations"] = list(data["explanations"].values())


@pytest.mark.parametrize("how", ["not a dict", "no words", "no scores", "scores too short", "scores not numbers",
                                 "words not strings", "error not a string", "explanations a list"])
def test_malformed_explanation_file_is_moved_aside_and_recomputed(tmp_path, clean_store, how):
    clean, store, root = _copy_of(clean_store, tmp_path)
    (path,) = root.glob("*/explanations/zero-*.json")
    data = json.loads(path.read_text())
    _break_first_explanation(data, how)
    path.write_text(json.dumps(data))
    with pytest.warns(RuntimeWarning, match="unreadable evaluation store file"):
        records = evaluate(MODEL, **ZERO, store=store)
    assert json.loads(path.with_name(path.name + ".corrupt").read_text()) == data
    assert records[0]["explained"] == 3
    assert [r["metrics"] for r in records] == [r["metrics"] for r in clean]
    assert len(_entries(path)) == 3


@pytest.mark.parametrize("metric, result", [
    ("posthoc", [0.5, 0.6]),
    ("posthoc", {"one": 0.5}),
    ("posthoc", {"1": "high"}),
    ("aopc", {"value": "0.3", "per_k": [0.1]}),
    ("aopc", {"value": 0.3, "per_k": [None]}),
    ("aopc", 0.3),
])
def test_malformed_metric_file_is_moved_aside_and_recomputed(tmp_path, clean_store, metric, result):
    clean, store, root = _copy_of(clean_store, tmp_path)
    (path,) = root.glob(f"*/metrics/{metric}-*.json")
    data = json.loads(path.read_text())
    data["result"] = result
    path.write_text(json.dumps(data))
    with pytest.warns(RuntimeWarning, match=f"malformed {metric} result|the result is not an object"):
        records = evaluate(MODEL, **ZERO, store=store)
    assert path.with_name(path.name + ".corrupt").is_file()
    assert [r["metrics"] for r in records] == [r["metrics"] for r in clean]
    assert store.get_metric(json.loads(path.read_text())["key"]) is not None


def test_well_formed_older_results_are_kept(tmp_path):
    """Results stored before ``k_max`` and ``mean_curve`` existed stay valid (no warning)."""
    store = EvaluationStore(tmp_path)
    key = store.metric_key("f" * 64, "zero", {}, "auc_rep", {"seed": 0}, ["1"])
    store.put_metric(key, {"value": 0.25, "fractions": [0.0, 0.1]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.get_metric(key) == {"value": 0.25, "fractions": [0.0, 0.1]}
