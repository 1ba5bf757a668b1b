"""``python -m core <verb>``: dispatches to the verb modules, with their options and exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.__main__ import VERBS, main

REPO = Path(__file__).resolve().parent.parent


def test_every_verb_is_a_module_with_a_main():
    import importlib

    for module, _ in VERBS.values():
        assert callable(importlib.import_module(module).main)


def test_a_verb_runs_with_its_own_options(capsys):
    assert main(["models", "list", "--format", "json"]) == 0
    names = {record["name"] for record in json.loads(capsys.readouterr().out)}
    assert "cnn-vmask-movie-snippets" in names


def test_errors_and_usage(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown verb 'frobnicate'" in capsys.readouterr().err
    assert main([]) == 2 and "verbs:" in capsys.readouterr().out
    assert main(["--help"]) == 0
    assert main(["explain", "--model", "no-such-model", "--text", "x"]) == 2  # the verb's own error handling
    assert "no model named" in capsys.readouterr().err


def test_python_dash_m_core_is_the_entry_point():
    done = subprocess.run([sys.executable, "-m", "core", "models", "list"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "cnn-vmask-movie-snippets" in done.stdout


def test_param_reads_explainer_parameters_and_refuses_bad_ones(capsys):
    from core.cli_common import parse_params, run_cli
    from core.explain.__main__ import main as explain_main

    assert parse_params(["lime.n_samples=200", "marginal.sigma=1e-4", "x.name=text"]) == {
        "lime": {"n_samples": 200}, "marginal": {"sigma": 1e-4}, "x": {"name": "text"}}
    base = ["--model", "cnn-vmask-movie-snippets", "--text", "a fine film", "--format", "json"]
    assert run_cli(explain_main, base + ["--methods", "lime", "--param", "lime.n_samples=40"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["params"]["n_samples"] == 40
    for bad, message in ((["--methods", "zero", "--param", "lime.n_samples=40"], "not among the methods"),
                         (["--methods", "lime", "--param", "lime.samples=40"], "lime takes"),
                         (["--methods", "lime", "--param", "n_samples=40"], "not of the form")):
        assert run_cli(explain_main, base + bad) == 2
        assert message in capsys.readouterr().err


def test_evaluate_param_enters_the_store_key(masklens_home, capsys):
    from core.cli_common import run_cli
    from core.evaluate import main as evaluate_main

    base = ["--model", "cnn-vmask-movie-snippets", "--explainers", "lime", "--metrics", "aopc", "--n", "3",
            "--no-progress", "--format", "json"]
    assert run_cli(evaluate_main, base + ["--param", "lime.n_samples=30"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["params"] == {"seed": 0, "n_samples": 30, "version": 2}
    assert run_cli(evaluate_main, base + ["--param", "lime.bogus=1"]) == 2
    assert "lime takes" in capsys.readouterr().err


def test_explainers_verb_lists_every_registered_explainer_from_its_declarations(capsys):
    from core.__main__ import main
    from core.explain.registry import EXPLAINERS, explainers_for

    assert main(["explainers", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in records] == list(EXPLAINERS)
    marginal = next(r for r in records if r["name"] == "marginal")
    assert marginal["needs_likelihood"] and marginal["supports"] == ["text"]
    sigma = next(p for p in marginal["parameters"] if p["name"] == "sigma")
    assert sigma["default"] == 1e-5 and "threshold" in sigma["help"]
    assert main(["explainers", "--kind", "pair", "--format", "json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == list(explainers_for("pair"))
    with pytest.raises(SystemExit) as exit_info:
        main(["explainers", "--kind", "pairs"])
    assert exit_info.value.code == 2
