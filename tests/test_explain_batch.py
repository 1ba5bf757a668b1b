"""``python -m core explain-batch``: a split to JSON Lines / Parquet through the store, and its bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.cli_common import run_cli
from core.explain.batch import explain_dataset, main, write_rows

MODEL = "cnn-vmask-movie-snippets"


def test_rows_are_the_stored_explanations_with_id_text_and_label(masklens_home, tmp_path):
    from core.data.bundled import load_dataset

    assert main(["--model", MODEL, "--explainers", "zero,lime", "--n", "4", "--param", "lime.n_samples=30",
                 "--out", str(tmp_path / "out.jsonl"), "--no-progress"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["explainer"] for r in rows] == ["zero"] * 4 + ["lime"] * 4
    test = load_dataset("movie-snippets").test
    text_of, label_of = dict(zip(test.ids, test.texts)), dict(zip(test.ids, test.labels))
    for row in rows:
        assert row["text"] == text_of[row["id"]] and row["label"] == label_of[row["id"]]
        assert len(row["words"]) == len(row["scores"]) > 0
    again = explain_dataset(MODEL, ["zero"], n=4)  # served from the store the CLI filled: the same records
    assert [r["scores"] for r in again] == [r["scores"] for r in rows[:4]]


def test_parquet_keeps_the_rows(tmp_path):
    rows = [{"id": "1", "explainer": "zero", "words": ["a", "b"], "scores": [0.1, -0.2], "params": {"unit": "x"}}]
    table = pd.read_parquet(write_rows(rows, tmp_path / "out.parquet"))
    assert table["id"].tolist() == ["1"] and list(table["scores"][0]) == [0.1, -0.2]
    assert json.loads(table["params"][0]) == {"unit": "x"}


@pytest.mark.parametrize("args, message", [
    (["--out", "out.csv"], "--out must end with .jsonl or .parquet"),
    (["--explainers", "zero,nosuch"], "unknown explainer nosuch"),
    (["--n", "0"], "--n must be a positive integer"),
    (["--csv", "a.csv", "--dataset", "trec6"], "give --csv or --dataset, not both"),
])
def test_bad_input_gives_a_one_line_message(masklens_home, tmp_path, capsys, args, message):
    argv = ["--model", MODEL, "--out", str(tmp_path / "out.jsonl"), "--no-progress", *args]
    assert run_cli(main, argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


def test_the_ray_engine_says_how_to_install_ray_and_refuses_bad_worker_counts(masklens_home, tmp_path, capsys,
                                                                              monkeypatch):
    import sys

    from core.evaluation.engines import RayEngine

    with pytest.raises(ValueError, match="workers must be a positive integer"):
        RayEngine(workers=0)
    with pytest.raises(ValueError, match="gpus_per_worker must be a number >= 0"):
        RayEngine(gpus_per_worker=-1)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    argv = ["--model", MODEL, "--out", str(tmp_path / "out.jsonl"), "--no-progress", "--engine", "ray", "--n", "2"]
    assert run_cli(main, argv) == 2
    assert "pip install -r requirements-ray.txt" in capsys.readouterr().err


def test_an_unreachable_ray_address_fails_at_once_with_what_to_do():
    import socket
    import time

    from core.evaluation.engines import check_reachable

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        open_port = listening.getsockname()[1]
        check_reachable(f"ray://127.0.0.1:{open_port}")  # something listens: left to Ray
        check_reachable(f"127.0.0.1:{open_port}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # bound, never listening: refused
        started = time.monotonic()
        with pytest.raises(ConnectionError, match=rf"cannot reach the Ray cluster at ray://127.0.0.1:{closed_port}"):
            check_reachable(f"ray://127.0.0.1:{closed_port}")
        assert time.monotonic() - started < 2
    for left_to_ray in (None, "", "auto", "local", "ray://head-node"):
        check_reachable(left_to_ray)


def test_explain_batch_on_an_unreachable_cluster_is_a_one_line_error(masklens_home, tmp_path, capsys):
    import socket

    pytest.importorskip("ray", reason="ray is not installed (pip install -r requirements-ray.txt)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
        argv = ["--model", MODEL, "--out", str(tmp_path / "out.jsonl"), "--no-progress", "--engine", "ray",
                "--address", address, "--n", "2"]
        assert run_cli(main, argv) == 2
    assert f"error: cannot reach the Ray cluster at {address}" in capsys.readouterr().err
