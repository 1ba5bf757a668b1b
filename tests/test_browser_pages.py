"""Every page opened by its URL first thing after a server start, in Chromium: its title, layout and navigation.

Streamlit's multipage convention runs a deep link's script without ``app.py``; each page sets up
the same layout and sidebar links itself (``ui.common.page_setup``), which is what this checks.
The seconds from navigation to the page's heading go to ``test-artifacts/page-load.json``
(measured, not asserted: timings belong in bench/, README "Tests and CI").
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.browser import ARTIFACTS, chromium_page, no_exception, screenshot, served_app, url_path
from ui.common import PAGES

HEADINGS = {"Home": "MaskLens", "Explain": "Explain a prediction", "Dataset importance": "Dataset-level word importance",
            "Representations": "Sentence representations"}  # where the page's title differs from its label


@pytest.mark.e2e
@pytest.mark.parametrize("script, label", [(script, label) for script, label, _ in PAGES])
def test_a_deep_link_opened_first_looks_like_the_page_reached_from_home(script, label, tmp_path, masklens_home,
                                                                        chromium_executable):
    with served_app(masklens_home, tmp_path / "streamlit.log") as base, chromium_page(chromium_executable) as page:
        started = time.perf_counter()
        page.goto(f"{base}/{url_path(script)}", timeout=60_000)
        heading = page.get_by_role("heading", name=HEADINGS.get(label, label), exact=False).first
        heading.wait_for(state="visible", timeout=90_000)
        seconds = time.perf_counter() - started
        page.wait_for_timeout(1500)  # let the first run finish drawing before the screenshot
        screenshot(page, f"pages/{label.lower().replace(' ', '-')}")
        assert page.title() == ("MaskLens" if label == "Home" else f"{label} · MaskLens")
        sidebar = page.locator('[data-testid="stSidebar"]')
        links = [text.strip() for text in sidebar.locator('[data-testid="stPageLink"]').all_inner_texts()]
        assert [link.split("\n")[-1] for link in links] == [name for _, name, _ in PAGES]
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0  # Streamlit's own list is off
        anchors = sidebar.locator('[data-testid="stPageLink-NavLink"]')
        styles = [anchors.nth(i).get_attribute("class") for i in range(anchors.count())]
        here = [name for _, name, _ in PAGES].index(label)
        assert styles.count(styles[here]) == 1, "the current page's link is not highlighted alone"
        assert no_exception(page)
        sidebar.locator('[data-testid="stPageLink"]', has_text="Home").click()
        page.get_by_role("heading", name="MaskLens").first.wait_for(state="visible", timeout=60_000)
        assert page.title() == "MaskLens"
    record = ARTIFACTS / "page-load.json"
    timings = json.loads(record.read_text()) if record.is_file() else {}
    timings[label] = round(seconds, 2)
    Path(record).write_text(json.dumps(timings, indent=1))
