"""``python -m core <verb>``: dispatches to the verb modules, with their options and exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
