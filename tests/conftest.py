"""Shared pytest setup: offline Hugging Face, marker-based skipping and common fixtures.

Markers (see pytest.ini): ``slow`` runs only with ``--run-slow``; ``e2e`` runs
when Playwright and a Chromium binary are available (else skipped with the
reason); ``gpu`` runs only when CUDA is available.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The repository has no pytest.ini (its top level holds only the project's entries), so the
# settings live here: the repo root is importable (``core``, ``tests.toy``) from any directory.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

MARKERS = (
    "slow: long-running (real training); skipped unless --run-slow (make test-all)",
    "e2e: real browser against a served app; skipped when chromium or playwright is missing",
    "gpu: needs a CUDA device; skipped without one",
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--run-slow``."""
    parser.addoption("--run-slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers, silence Streamlit's own deprecation warnings, apply the thread policy.

    The suite runs torch in this process too, so it takes MaskLens' thread policy (a thread per
    free core): on a busy CI machine torch's default of a thread per core spins and multiplies
    the suite's time.
    """
    from core.threads import apply_thread_policy

    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:streamlit.*")
    apply_thread_policy()


def chromium_path() -> str | None:
    """Path of a Chromium/Chrome binary: ``$CHROMIUM_PATH`` or the first one on PATH, else None."""
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def e2e_unavailable_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "e2e: the playwright pip package is not installed (pip install -r requirements.txt)"
    if chromium_path() is None:
        return "e2e: no chromium binary found (apt-get install chromium, or set CHROMIUM_PATH)"
    return None


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip slow tests without --run-slow, e2e tests without a browser, gpu tests without CUDA."""
    run_slow = config.getoption("--run-slow")
    e2e_reason = None
    gpu_reason = None
    if any("e2e" in item.keywords for item in items):
        e2e_reason = e2e_unavailable_reason()
    if any("gpu" in item.keywords for item in items) and not _cuda_available():
        gpu_reason = "gpu: no CUDA device available"
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with --run-slow (make test-all)"))
        if "e2e" in item.keywords and e2e_reason:
            item.add_marker(pytest.mark.skip(reason=e2e_reason))
        if "gpu" in item.keywords and gpu_reason:
            item.add_marker(pytest.mark.skip(reason=gpu_reason))


@pytest.fixture
def chromium_executable() -> str:
    """Path of the Chromium binary for e2e tests (skips the test when there is none)."""
    path = chromium_path()
    if path is None:
        pytest.skip("e2e: no chromium binary found (apt-get install chromium, or set CHROMIUM_PATH)")
    return path


@pytest.fixture
def masklens_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``$MASKLENS_HOME`` (user models, caches) under the test's temp dir."""
    home = tmp_path / "masklens_home"
    home.mkdir()
    monkeypatch.setenv("MASKLENS_HOME", str(home))
    return home
