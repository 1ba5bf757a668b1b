"""The one CPU thread policy (core/threads.py): parsing the override, applying it, limiting BLAS/OpenMP pools."""

from __future__ import annotations

import os

import pytest
import torch
from threadpoolctl import threadpool_info

from core import threads
from core.cli_common import run_command
from core.threads import (
    CHILD_ENV_VARS,
    ENV_VAR,
    apply_thread_policy,
    compute_threads,
    free_cores,
    parse_threads,
    thread_count,
    usable_cores,
)


@pytest.fixture
def restore_torch_threads(monkeypatch):
    """Keep the test process's torch thread count and the variables the policy writes."""
    for name in (ENV_VAR, *CHILD_ENV_VARS):  # setting a variable to its own value makes monkeypatch restore it
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("raw, expected", [(None, None), ("", None), ("  ", None), ("1", 1), (" 3 ", 3), (4, 4)])
def test_parse_threads_reads_counts_and_unset(raw, expected):
    assert parse_threads(raw) == expected


def test_the_default_is_the_cores_the_load_leaves_free(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    assert free_cores(0.0) == 8 and free_cores(3.4) == 5 and free_cores(7.6) == 1 and free_cores(30.0) == 1
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    assert free_cores(0.3) == 2 and free_cores(1.6) == 1          # a busy 2-core machine: one thread
    assert 1 <= free_cores() <= 2                                 # the real load average


def test_auto_means_every_usable_core():
    assert parse_threads("auto") == parse_threads("AUTO") == usable_cores() >= 1


@pytest.mark.parametrize("raw", ["0", "-2", "two", "1.5", "2 threads", 0, -1, True])
def test_bad_thread_counts_are_refused_with_what_is_allowed(raw):
    with pytest.raises(ValueError, match=rf"{ENV_VAR} must be a positive whole number of threads or 'auto'"):
        parse_threads(raw)


def test_the_environment_overrides_the_default(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(threads, "free_cores", lambda load=None: 7)
    assert thread_count() == 7                                  # the default: the free cores now
    monkeypatch.setenv(ENV_VAR, "2")
    assert thread_count() == 2 and thread_count(3) == 3  # an explicit count wins
    monkeypatch.setenv(ENV_VAR, "lots")
    with pytest.raises(ValueError, match="got 'lots'"):
        thread_count()
    with pytest.raises(ValueError, match="the thread count must be"):
        thread_count(0)


def test_apply_sets_torch_and_the_variables_children_read(restore_torch_threads, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "2")
    assert apply_thread_policy() == 2 and torch.get_num_threads() == 2
    assert all(os.environ[name] == "2" for name in CHILD_ENV_VARS)
    assert apply_thread_policy(1) == 1 and torch.get_num_threads() == 1
    assert all(os.environ[name] == "1" for name in CHILD_ENV_VARS)


def test_compute_threads_limits_every_pool_inside_the_block_only():
    import sklearn.manifold  # noqa: F401 - loads scikit-learn's OpenMP runtime too

    before = {info["filepath"]: info["num_threads"] for info in threadpool_info()}
    with compute_threads(1) as count:
        assert count == 1
        inside = threadpool_info()
        assert inside and all(info["num_threads"] == 1 for info in inside), inside
    assert {info["filepath"]: info["num_threads"] for info in threadpool_info()} == before


def test_the_command_line_applies_the_policy_first(restore_torch_threads, monkeypatch, capsys):
    monkeypatch.setenv(ENV_VAR, "1")
    torch.set_num_threads(2)
    assert run_command(lambda argv: torch.get_num_threads() + 10, []) == 11
    monkeypatch.setenv(ENV_VAR, "zero")
    assert run_command(lambda argv: 0, []) == 2
    assert f"error: {ENV_VAR} must be a positive whole number of threads or 'auto', got 'zero'" in capsys.readouterr().err
