"""What users do in a real browser: look at the word clouds and the scatter, run an evaluation, cancel a long one,
close the tab during a long method or a training run (the server stops computing; the run saves its best epoch).

Each flow starts the app on a fresh ``$MASKLENS_HOME`` (so nothing is served from an earlier
store), drives headless Chromium at 1500 x 1000 and saves screenshots under
``test-artifacts/flows/`` for a reviewer to look at.
"""

from __future__ import annotations

import re
import time

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

from tests.browser import (SERVER_PIDS, child_pids, chromium_page, cpu_seconds, no_exception, open_explain, pick,
                           screenshot, served_app, submit_text, url_path)

LOAD_MS = 120_000
RUN_MS = 240_000


def open_page(page, base: str, script: str, heading: str) -> None:
    """Go to a page by its URL and wait for its heading and the first run to settle."""
    page.goto(f"{base}/{url_path(script)}", timeout=60_000)
    page.get_by_role("heading", name=heading).first.wait_for(state="visible", timeout=LOAD_MS)
    settle(page)


def settle(page, timeout: int = RUN_MS) -> None:
    """Wait until Streamlit's status widget says the script is no longer running."""
    page.wait_for_timeout(700)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout)
    page.wait_for_timeout(300)


def multiselect(page, label: str):
    """The multiselect widget with ``label``."""
    return page.locator('[data-testid="stMultiSelect"]').filter(has_text=label).first


def choose_only(page, label: str, option: str) -> None:
    """Empty the multiselect ``label`` (Backspace removes the last chip) and pick exactly ``option`` (its label)."""
    box = multiselect(page, label).locator("input")
    box.click()
    for _ in range(8):
        box.press("Backspace")
        page.wait_for_timeout(150)
    box.type(option.split()[0])
    page.get_by_role("option", name=option, exact=True).click()
    box.press("Escape")
    settle(page)
    chips = multiselect(page, label).locator("[data-tag]")
    expect(chips).to_have_count(1, timeout=LOAD_MS)
    expect(chips.first).to_contain_text(option)


def cut_chips(page, label: str) -> list[str]:
    """The chosen items of multiselect ``label`` whose text does not fit its chip (cut off with an ellipsis)."""
    texts = multiselect(page, label).locator("[data-tag] > span[title]")
    return [texts.nth(i).get_attribute("title") for i in range(texts.count())
            if texts.nth(i).evaluate("el => el.scrollWidth > el.clientWidth + 1")]


def number_input(page, label: str):
    """The <input> of the number input widget with ``label``."""
    return page.locator('[data-testid="stNumberInput"]').filter(has_text=label).first.locator("input")


def set_number(page, label: str, value: int) -> None:
    """Type ``value`` into the number input ``label`` and commit it."""
    field = number_input(page, label)
    field.fill(str(value))
    field.press("Enter")
    settle(page)


@pytest.mark.e2e
def test_dataset_importance_shows_clouds_and_a_readable_scatter(tmp_path, masklens_home, chromium_executable):
    with served_app(masklens_home, tmp_path / "streamlit.log") as base, chromium_page(chromium_executable) as page:
        open_page(page, base, "pages/2_Dataset_importance.py", "Dataset-level word importance")
        images = page.locator('[data-testid="stImage"] img')
        expect(images).to_have_count(2, timeout=LOAD_MS)  # VMASK and IBA side by side
        expect(images.nth(1)).to_be_visible(timeout=LOAD_MS)
        assert number_input(page, "Minimum training count").input_value() == "20"
        screenshot(page, "flows/dataset-importance-clouds")
        chart = page.locator('[data-testid="stPlotlyChart"]').first
        chart.scroll_into_view_if_needed()
        chart.locator(".main-svg").first.wait_for(state="visible", timeout=LOAD_MS)
        page.wait_for_timeout(1000)
        assert chart.locator("g.annotation").count() >= 15  # the marked words, as spread-out labels
        screenshot(page, "flows/dataset-importance-scatter")
        assert no_exception(page)


@pytest.mark.e2e
def test_faithfulness_runs_a_small_evaluation_and_cancels_a_long_one(tmp_path, masklens_home, chromium_executable):
    with served_app(masklens_home, tmp_path / "streamlit.log") as base, chromium_page(chromium_executable) as page:
        open_page(page, base, "pages/3_Faithfulness.py", "Faithfulness")
        page.get_by_role("button", name="Evaluate").wait_for(state="visible", timeout=LOAD_MS)
        page.get_by_text("Expected time on this machine").first.wait_for(state="visible", timeout=LOAD_MS)
        screenshot(page, "flows/faithfulness-settings")
        assert multiselect(page, "Metrics").locator("[data-tag]").count() == 6
        assert cut_chips(page, "Metrics") == [] and cut_chips(page, "Explainers") == []  # every chosen item readable
        choose_only(page, "Explainers", "zero erasure")
        set_number(page, "Test examples (n)", 10)
        page.get_by_role("button", name="Evaluate").click()
        table = page.locator('[data-testid="stDataFrame"]').first
        table.wait_for(state="visible", timeout=RUN_MS)
        settle(page)
        charts = page.locator('[data-testid="stPlotlyChart"]')
        expect(charts).to_have_count(6, timeout=LOAD_MS)  # one per metric (all six chosen)
        screenshot(page, "flows/faithfulness-summary")
        charts.first.scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        screenshot(page, "flows/faithfulness-charts")
        assert no_exception(page)

        page.evaluate("window.scrollTo(0, 0)")
        choose_only(page, "Explainers", "LIME")
        set_number(page, "Test examples (n)", 300)
        page.get_by_role("button", name="Evaluate").click()
        bar = page.locator('[data-testid="stProgress"]').first
        bar.wait_for(state="visible", timeout=LOAD_MS)
        cancel = page.get_by_role("button", name="Cancel")
        cancel.wait_for(state="visible", timeout=LOAD_MS)
        page.get_by_text(re.compile(r"explaining with LIME: [1-9]\d*/300 sentences")).first.wait_for(
            state="visible", timeout=LOAD_MS)  # under way, with a time left
        screenshot(page, "flows/faithfulness-long-run")
        cancel.click()
        page.get_by_text("Evaluation cancelled").first.wait_for(state="visible", timeout=LOAD_MS)
        settle(page)
        screenshot(page, "flows/faithfulness-cancelled")
        assert page.locator('[data-testid="stProgress"]').count() == 0
        assert no_exception(page)


@pytest.mark.e2e
def test_cancel_explain_again_cancel_and_a_closed_tab_stop_a_long_method(tmp_path, masklens_home, chromium_executable):
    """Exact marginalization on the MiniLM takes minutes for this sentence. Cancel stops it, and so
    does a second Cancel after Explain again; once the tab is closed the server stops within a
    forward chunk (before heartbeats it computed to the end). (A stopped view whose button stayed
    behind, stale, once swallowed the second Cancel; a slower script reproduced it every time, this
    test did not.)"""
    with served_app(masklens_home, tmp_path / "streamlit.log") as base, chromium_page(chromium_executable) as page:
        box = open_explain(page, base)
        settle(page)
        pick(page, "Model", "minilm-vmask-movie-snippets")
        settle(page)
        choose_only(page, "Methods", "input marginalization")
        page.get_by_text("Parameters", exact=True).click()
        budget = page.get_by_role("combobox", name="Marginalization budget", exact=True)
        budget.scroll_into_view_if_needed()
        page.wait_for_timeout(500)  # the expander has opened
        budget.click()
        page.get_by_role("option", name="exact (the paper's sum)", exact=True).click()
        settle(page)
        expect(budget).to_have_value("exact (the paper's sum)")
        submit_text(box, "a gripping , beautifully acted film that never lets go of you")
        page.get_by_text(re.compile(r"method 1/1: input marginalization")).first.wait_for(state="visible",
                                                                                        timeout=LOAD_MS)
        bar = page.locator('[data-testid="stProgress"] [role="progressbar"]').first
        page.evaluate("document.querySelector('[data-testid=\"stProgress\"]').scrollIntoView({block: 'center'})")
        pid = SERVER_PIDS[base]
        page.wait_for_timeout(1000)
        started, moved_from = cpu_seconds(pid), float(bar.get_attribute("aria-valuenow") or 0)
        page.wait_for_timeout(5000)
        busy, moved_to = cpu_seconds(pid) - started, float(bar.get_attribute("aria-valuenow") or 0)
        screenshot(page, "flows/explain-long-method")
        assert moved_to > moved_from, (moved_from, moved_to)  # the bar moves (in whole %) inside the one method
        for _ in range(2):  # Cancel; Explain again; Cancel again
            page.get_by_role("button", name="Cancel").click()
            page.get_by_text("Explaining was stopped").first.wait_for(state="visible", timeout=15_000)
            settle(page)
            page.get_by_role("button", name="Explain again").click()
            page.get_by_text(re.compile(r"method 1/1: input marginalization")).first.wait_for(state="visible",
                                                                                            timeout=LOAD_MS)
            page.wait_for_timeout(1500)
        screenshot(page, "flows/explain-again-running")
        page.close()
        time.sleep(3)  # the websocket closes, Streamlit asks the run to stop, the next chunk's redraw raises
        started = cpu_seconds(pid)
        time.sleep(3)
        idle = cpu_seconds(pid) - started
    assert busy > 2.5 and idle < 0.3, f"CPU seconds: {busy:.2f} in 5 s while computing, {idle:.2f} in 3 s after"


@pytest.mark.e2e
def test_closing_the_tab_during_training_stops_the_run_and_saves_the_best_epoch(tmp_path, masklens_home,
                                                                                 chromium_executable):
    from core.training.background import ORPHAN_GRACE_SECONDS

    with served_app(masklens_home, tmp_path / "streamlit.log") as base, chromium_page(chromium_executable) as page:
        open_page(page, base, "pages/5_Train.py", "Train a model")
        set_number(page, "epochs", 500)  # minutes of training
        page.get_by_role("textbox", name="Model name").fill("closed-tab")
        page.get_by_role("textbox", name="Model name").press("Enter")
        settle(page)
        page.get_by_role("button", name="Start training").click()
        page.get_by_text(re.compile(r"Training · epoch \d+/500")).first.wait_for(state="visible", timeout=LOAD_MS)
        server = SERVER_PIDS[base]
        trainers = child_pids(server, "spawn_main")  # not multiprocessing's resource tracker, which stays
        assert trainers, "no training child process"
        screenshot(page, "flows/train-running")
        page.close()
        closed = time.monotonic()
        while any(pid in child_pids(server) for pid in trainers) and time.monotonic() - closed < 60:
            time.sleep(0.5)
        stopped_after = time.monotonic() - closed
        saved = (masklens_home / "models" / "closed-tab" / "model.safetensors").exists()
    assert stopped_after < ORPHAN_GRACE_SECONDS + 20, f"the training child still ran {stopped_after:.0f} s after"
    assert saved, "the best epoch so far was not saved"
