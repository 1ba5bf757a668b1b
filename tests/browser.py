"""Shared pieces of the browser tests: a served app, a Chromium page, screenshots under ``test-artifacts/``.

A test marked ``e2e`` takes the ``chromium_executable`` fixture (skipped without Chromium or
Playwright), starts the app with :func:`served_app` and saves what it saw with :func:`screenshot`,
so a reviewer can look at ``test-artifacts/`` after a run (``$MASKLENS_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = str(REPO_ROOT / "app.py")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-proxy-server"]
ARTIFACTS = Path(os.environ.get("MASKLENS_ARTIFACTS", REPO_ROOT / "test-artifacts"))
VIEWPORT = {"width": 1500, "height": 1000}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 5) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    with opener.open(url, timeout=timeout) as response:
        return response.read().decode()


def wait_for_port(port: int, server: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not open port {port} within {timeout:.0f} s:\n{log.read_text()}")


def url_path(script: str) -> str:
    """The URL path Streamlit serves a page script at: ``pages/2_Dataset_importance.py`` -> ``Dataset_importance``."""
    if script == "app.py":
        return ""
    return re.sub(r"^\d+_", "", Path(script).stem)


SERVER_PIDS: dict[str, int] = {}  # base URL -> pid of the streamlit process serving it


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` (all its threads) has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def served_app(home: Path, log: Path) -> Iterator[str]:
    """Run ``streamlit run app.py`` with ``$MASKLENS_HOME`` = ``home``; yields its base URL, stops it after."""
    port = free_port()
    env = {**os.environ, "MASKLENS_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "streamlit", "run", APP, "--server.headless", "true", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    with open(log, "wb") as log_file:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        wait_for_port(port, server, log)
        SERVER_PIDS[f"http://127.0.0.1:{port}"] = server.pid
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


def open_explain(page, base: str):
    """Open the Explain page by URL and return its "Text to explain" box once it is there."""
    page.goto(f"{base}/{url_path('pages/1_Explain.py')}", timeout=60_000)
    box = page.get_by_label("Text to explain")
    box.wait_for(timeout=90_000)
    return box


def pick(page, label: str, option: str) -> None:
    """Choose ``option`` in the selectbox labelled ``label``."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def submit_text(box, text: str) -> None:
    """Type ``text`` into a Streamlit text area and apply it (Ctrl+Enter)."""
    box.fill(text)
    box.press("Control+Enter")


def child_pids(pid: int, command_has: str = "") -> list[int]:
    """Processes whose parent is ``pid`` and whose command line contains ``command_has`` (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if (int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid
                    and command_has in (stat.parent / "cmdline").read_text().replace("\0", " ")):
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):  # a process that ended while we read
            continue
    return children
