"""``python -m core.explain``: JSON records, class by name, clear errors without tracebacks."""

import json
import subprocess
import sys

TEXT = "the acting is wooden but the score is wonderful"


def run(*args):
    return subprocess.run([sys.executable, "-m", "core.explain", *args], capture_output=True, text=True)


def test_json_records_for_three_methods():
    out = run("--model", "cnn-vmask-movie-snippets", "--text", TEXT, "--methods", "vmask,zero,marginal",
              "--format", "json", "--device", "cpu")
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    assert [r["method"] for r in records] == ["vmask", "zero", "marginal"]
    for record in records:
        assert {"method", "words", "scores", "target", "probs", "seconds"} <= set(record)
        assert record["words"] == TEXT.split() and len(record["scores"]) == len(record["words"])
        assert abs(sum(record["probs"]) - 1) < 1e-5


def test_target_by_name_and_table_format():
    out = run("--model", "cnn-vmask-movie-snippets", "--text", TEXT, "--methods", "zero", "--target", "positive",
              "--format", "table", "--device", "cpu")
    assert out.returncode == 0, out.stderr
    assert "zero  (explains positive" in out.stdout and "wooden" in out.stdout


def test_skipped_method_is_reported_on_stderr():
    out = run("--model", "cnn-base-movie-snippets", "--text", TEXT, "--methods", "vmask,zero", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert [r["method"] for r in json.loads(out.stdout)] == ["zero"]
    assert "skipped vmask" in out.stderr


def test_bad_input_gives_exit_2_and_a_message():
    cases = [("--model", "no-such-model", "--text", TEXT), ("--model", "cnn-base-movie-snippets", "--text", "!!!"),
             ("--model", "cnn-base-movie-snippets", "--text", TEXT, "--target", "sideways"),
             ("--model", "cnn-base-movie-snippets", "--text", TEXT, "--methods", "magic")]
    for args in cases:
        out = run(*args, "--methods", "zero") if "--methods" not in args else run(*args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr


def test_budget_flag_budgeted_table_and_bad_budget():
    out = run("--model", "cnn-vmask-movie-snippets", "--text", TEXT, "--methods", "marginal", "--budget", "8",
              "--format", "table", "--device", "cpu")
    assert out.returncode == 0, out.stderr
    assert "budgeted: at most 8 classifier passes per word" in out.stdout and " ± " in out.stdout
    bad = run("--model", "cnn-vmask-movie-snippets", "--text", TEXT, "--methods", "marginal", "--budget", "2")
    assert bad.returncode == 2 and "budget must be" in bad.stderr and "Traceback" not in bad.stderr
