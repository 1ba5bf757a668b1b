"""The Sentence pairs page in Chromium: GMASK's group diagram is drawn and visible, with the pair's words on it.

``st.html`` sanitises with an HTML-only profile, so an ``<svg>`` passed to it is stripped and the
diagram area stays empty; an AppTest cannot see that (it reads the element's source), a browser can.
Screenshots go to ``test-artifacts/pairs/``.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.browser import chromium_page, no_exception, screenshot, served_app, url_path

PAGE = "pages/6_Sentence_pairs.py"
TEXT_A, TEXT_B = "what is the capital of france ?", "how many people live in tokyo ?"  # an example pair of the page
FIRST = set("who wrote the declaration of independence ? who painted the mona lisa ?".split())  # the default pair
CHART = '[data-testid="stPlotlyChart"]'


def chart_labels(page) -> list[str]:
    """The text of every SVG ``<text>`` in the first plotly chart (word labels, group labels, axis ticks)."""
    chart = page.locator(CHART).first
    return [t.strip() for t in chart.locator("svg text").all_text_contents() if t.strip()] if chart.count() else []


def wait_for_labels(page, words: set[str], timeout: float = 180) -> list[str]:
    """Poll until the chart's SVG shows at least one of ``words`` (the run under way has finished drawing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        labels = chart_labels(page)
        if words & set(labels):
            return labels
        page.wait_for_timeout(500)
    raise AssertionError(f"the group diagram never showed any of {sorted(words)}; it shows {chart_labels(page)}")


def hover_text(page, trace) -> str:
    """Move the mouse onto the first point of a plotly trace and return the hover label's text."""
    tip = page.locator(f"{CHART} .hoverlayer .hovertext").first
    page.mouse.move(1, 1)  # off the chart: the last label goes
    tip.wait_for(state="detached", timeout=10_000)
    box = trace.locator("path.point").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # plotly's drag layer is on top
    tip.wait_for(state="visible", timeout=10_000)
    return tip.text_content()


def choose_example(page, pattern: str) -> None:
    """Pick the example pair whose label matches ``pattern`` in the "Example pairs" box."""
    page.get_by_role("combobox", name="Example pairs").click()
    page.get_by_role("option", name=re.compile(pattern)).click()


@pytest.mark.e2e
def test_gmask_groups_are_a_visible_plotly_diagram_with_the_words_of_both_texts(tmp_path, masklens_home,
                                                                                 chromium_executable):
    with served_app(masklens_home, tmp_path / "streamlit.log") as base, chromium_page(chromium_executable) as page:
        page.goto(f"{base}/{url_path(PAGE)}", timeout=60_000)
        page.get_by_role("heading", name="Sentence pairs").first.wait_for(state="visible", timeout=90_000)
        page.locator(CHART).first.wait_for(state="visible", timeout=180_000)  # the default pair, default model
        screenshot(page, "pairs/default-pair")
        choose_example(page, "capital of france")
        only_a = set(TEXT_A.split()) - set(TEXT_B.split()) - FIRST
        only_b = set(TEXT_B.split()) - set(TEXT_A.split()) - FIRST
        wait_for_labels(page, only_a | only_b)
        chart = page.locator(CHART).first
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        labels = chart_labels(page)
        screenshot(page, "pairs/gmask-groups")
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 200, box
        assert only_a & set(labels) and only_b & set(labels), labels  # words of A and of B are drawn as text
        assert not {"declaration", "independence", "painted", "mona", "lisa"} & set(labels), labels  # none left over
        assert "G1" in " ".join(labels) and "text A" in labels and "text B" in labels
        assert page.locator(f"{CHART} svg .scatterlayer path.js-line").count() > 0  # the word-to-group lines
        assert page.get_by_role("combobox", name="Pair model").input_value() == "dattn-trec6-answer-type-pairs"
        chips = page.locator(".ml-chip")
        assert chips.count() > 0 and "text)" in (chips.first.get_attribute("aria-label") or "")
        traces = chart.locator("g.trace.scatter")  # ..., the line middles, A's words, B's words, the groups
        assert re.search(r"G1: importance ψ = [\d.e-]+", hover_text(page, traces.last))
        assert re.search(r"^[AB]:\S+ in G\d: φ = \d\.\d{3}$", hover_text(page, traces.nth(traces.count() - 4)))
        assert re.search(r"^text A, word \d+: ", hover_text(page, traces.nth(traces.count() - 3)))
        hover_text(page, traces.last)
        screenshot(page, "pairs/group-hover")
        chips.first.scroll_into_view_if_needed()
        page.mouse.move(5, 5)  # off the chart: plotly keeps its hover state while the pointer is on it
        chips.first.focus()  # the keyboard (and a tap) opens the same tooltip as hovering
        tip = chips.first.locator(".ml-tip")
        tip.wait_for(state="visible", timeout=10_000)
        assert "text)" in tip.inner_text()
        screenshot(page, "pairs/chip-focus")
        assert no_exception(page)
