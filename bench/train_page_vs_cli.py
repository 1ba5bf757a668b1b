"""The Train page against the command line for the same training run, side by side.

Usage::

    python bench/train_page_vs_cli.py [--rounds 3] [--max-train 500] [--epochs 2]

Serves the app on a fresh ``$MASKLENS_HOME`` (``tests/browser.py``) and drives headless
Chromium. Each round trains CNN base on movie-snippets (``--max-train`` examples,
``--epochs``) once from the Train page, timed from the click on *Start training* to the
"is now in every page's model picker" message, and once with ``python -m core.train``, timed as
the whole process (interpreter start, imports, training, test accuracy, save); the two
alternate. Then, for Stop, a long run is started and the seconds from the click on *Stop* to
"Stopped early" are timed, with the step at which it stopped. Prints every time, the medians
and the page/CLI ratio. Target (issue 15): the page within 1.3x the CLI; Stop within one step.
Needs playwright and a chromium (``CHROMIUM_PATH`` or on ``PATH``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM_FLAGS, served_app  # noqa: E402
from tests.test_browser_flows import set_number, settle  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def page_run(page, base: str, name: str, max_train: int, epochs: int) -> float:
    """Seconds from Start to the saved-and-listed message of one Train page run."""
    page.goto(f"{base}/Train", timeout=60_000)
    page.get_by_role("heading", name="Train a model").wait_for(timeout=120_000)
    settle(page)
    set_number(page, "epochs", epochs)
    set_number(page, "max train examples", max_train)
    page.get_by_role("textbox", name="Model name").fill(name)
    page.get_by_role("textbox", name="Model name").press("Enter")
    settle(page)
    started = time.perf_counter()
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("is now in every page's model picker").first.wait_for(timeout=600_000)
    return time.perf_counter() - started


def stop_run(page, base: str, name: str) -> tuple[float, str]:
    """Seconds from Stop to "Stopped early" on a long run, and the progress text at the end."""
    page.goto(f"{base}/Train", timeout=60_000)
    page.get_by_role("heading", name="Train a model").wait_for(timeout=120_000)
    settle(page)
    set_number(page, "epochs", 200)
    page.get_by_role("textbox", name="Model name").fill(name)
    page.get_by_role("textbox", name="Model name").press("Enter")
    settle(page)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"Training · epoch \d+/200 · step [1-9]")).first.wait_for(timeout=240_000)
    page.wait_for_timeout(1500)
    started = time.perf_counter()
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Stopped early").first.wait_for(timeout=120_000)
    seconds = time.perf_counter() - started
    return seconds, page.locator('[data-testid="stProgress"]').first.inner_text()


def cli_run(home: Path, name: str, max_train: int, epochs: int) -> float:
    """Seconds of the whole ``python -m core.train`` process for the same run."""
    command = [sys.executable, "-m", "core.train", "--model", "cnn", "--method", "base", "--dataset", "movie-snippets",
               "--max-train", str(max_train), "--epochs", str(epochs), "--name", name, "--no-progress"]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env={**os.environ, "MASKLENS_HOME": str(home)}, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-train", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    pages, clis = [], []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        home = Path(tmp) / "home"
        home.mkdir()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        with served_app(home, Path(tmp) / "streamlit.log") as base:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            for round_ in range(1, args.rounds + 1):
                pages.append(page_run(page, base, f"page-{round_}", args.max_train, args.epochs))
                clis.append(cli_run(home, f"cli-{round_}", args.max_train, args.epochs))
                print(f"round {round_}: page {pages[-1]:.2f} s, CLI {clis[-1]:.2f} s", flush=True)
            stop_seconds, text = stop_run(page, base, "stopped")
        browser.close()
    page_median, cli_median = statistics.median(pages), statistics.median(clis)
    print(f"CNN base, movie-snippets, {args.max_train} examples, {args.epochs} epochs: page median "
          f"{page_median:.2f} s, CLI median {cli_median:.2f} s, page / CLI {page_median / cli_median:.2f}x")
    print(f"Stop: 'Stopped early' {stop_seconds:.2f} s after the click; {text.strip()}")


if __name__ == "__main__":
    main()
