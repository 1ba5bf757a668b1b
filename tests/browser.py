"""Shared pieces of the browser tests: a served app, a Chromium page, screenshots under ``test-artifacts/``.

A test marked ``e2e`` takes the ``chromium_executable`` fixture (skipped without Chromium or
Playwright), starts the app with :func:`served_app` and saves what it saw with :func:`screenshot`,
so a reviewer can look at ``test-artifacts/`` after a run (``$MASKLENS_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.test_app import APP, CHROMIUM_FLAGS, REPO_ROOT, _free_port, _wait_for_port

ARTIFACTS = Path(os.environ.get("MASKLENS_ARTIFACTS", REPO_ROOT / "test-artifacts"))
VIEWPORT = {"width": 1500, "height": 1000}


def url_path(script: str) -> str:
    """The URL path Streamlit serves a page script at: ``pages/2_Dataset_importance.py`` -> ``Dataset_importance``."""
    if script == "app.py":
        return ""
    return re.sub(r"^\d+_", "", Path(script).stem)


@contextmanager
def served_app(home: Path, log: Path) -> Iterator[str]:
    """Run ``streamlit run app.py`` with ``$MASKLENS_HOME`` = ``home``; yields its base URL, stops it after."""
    port = _free_port()
    env = {**os.environ, "MASKLENS_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "streamlit", "run", APP, "--server.headless", "true", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    with open(log, "wb") as log_file:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        _wait_for_port(port, server, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            server.wait(timeout=15)


@contextmanager
def chromium_page(executable: str) -> Iterator[object]:
    """A fresh Playwright page in headless Chromium (closed after)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield browser.new_page(viewport=VIEWPORT)
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    """Save the visible page as ``test-artifacts/<name>.png`` and return the path."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    return path


def no_exception(page) -> bool:
    """True when no Streamlit exception box is on the page."""
    return page.locator('[data-testid="stException"]').count() == 0
