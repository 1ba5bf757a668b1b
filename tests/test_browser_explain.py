"""The Explain page in Chromium: two models side by side, tooltips on focus and hover, colours, no stale rows.

Screenshots go to ``test-artifacts/explain/`` (``tests/browser.py``).
"""

from __future__ import annotations

import re

import pytest

from tests.browser import (chromium_page, no_exception, open_explain, pick, screenshot, served_app, submit_text,
                           url_path)

SENTENCE = "the acting is wooden but the score is wonderful"
FIRST, SECOND, COMPARED = "cnn-vmask-movie-snippets", "lstm-vmask-movie-snippets", "cnn-base-movie-snippets"
UNITS = {"vmask": "keep probability", "zero": "log2 odds", "marginal": "log2 odds"}
# records every moment a heading of the fresh model is on the page together with a row of the old one
WATCH_STALE = """([old, fresh]) => {
    window.staleSeen = [];
    const check = () => {
        const headings = [...document.querySelectorAll('h3')].map(h => h.innerText.trim());
        const models = [...document.querySelectorAll('.ml-row')].map(r => r.dataset.model);
        if (headings.some(h => h.startsWith(fresh)) && models.includes(old)) window.staleSeen.push([headings, models]);
    };
    new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def wait_rows(page, model: str, n: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('.ml-row[data-model=\"{model}\"]').length >= {n}",
                           timeout=120_000)
    page.wait_for_timeout(500)  # the rest of the run (captions, downloads) draws


def rgb(css: str) -> tuple[int, int, int]:
    """``"rgba(106, 61, 154, 0.5)"`` -> ``(106, 61, 154)``."""
    return tuple(int(v) for v in re.findall(r"[\d.]+", css)[:3])


def chip_colours(page, model: str, method: str) -> set[tuple[int, int, int]]:
    """The colours (alpha left out) of one row's chips with a visible tint."""
    values = page.eval_on_selector_all(
        f'.ml-row[data-model="{model}"][data-method="{method}"] .ml-chip',
        "chips => chips.map(c => getComputedStyle(c).backgroundColor)")
    return {rgb(v) for v in values if not v.endswith(", 0)")}


def beside(left, right) -> bool:
    """Both boxes visible and side by side: the right one starts where the left one ends, at the same height."""
    a, b = left.bounding_box(), right.bounding_box()
    return (left.is_visible() and right.is_visible() and b["x"] >= a["x"] + a["width"] - 1
            and abs(a["y"] - b["y"]) < 5 and b["x"] + b["width"] <= 1500)


@pytest.mark.e2e
def test_explain_compares_two_models_side_by_side_with_tooltips(tmp_path, masklens_home, chromium_executable):
    with served_app(masklens_home, tmp_path / "streamlit.log") as base, chromium_page(chromium_executable) as page:
        box = open_explain(page, base)
        picker = page.get_by_role("combobox", name="Example sentences", exact=True)
        assert picker.input_value() == box.input_value()  # the picker names the example in the box
        submit_text(box, SENTENCE)
        page.wait_for_function("(rows => rows.length >= 3 && rows.every(r => r.innerText.includes('wooden')))"
                               "([...document.querySelectorAll('.ml-row')])", timeout=120_000)
        assert picker.input_value() == "(type your own)"
        # every chosen method's label reads whole (not cut to "inpu...") in the full-width Methods box
        tags = page.eval_on_selector_all('[data-testid="stMultiSelect"] .react-aria-ComboBox [data-tag] > span[title]',
                                         "tags => tags.map(t => [t.innerText, t.scrollWidth <= t.clientWidth])")
        assert tags == [["VMASK mask E[q(R|x)]", True], ["zero erasure", True], ["input marginalization", True]], tags
        screenshot(page, "explain/one-model")

        page.evaluate(WATCH_STALE, [FIRST, SECOND])
        pick(page, "Model", SECOND)
        wait_rows(page, SECOND, 3)
        assert page.evaluate("window.staleSeen") == [], "a new model's heading showed above the old model's rows"

        pick(page, "Compare with a second model", COMPARED)
        wait_rows(page, COMPARED, 2)
        page.get_by_text("Scores (CSV)").last.scroll_into_view_if_needed()
        screenshot(page, "explain/two-models")
        columns = page.locator('[data-testid="stColumn"]')
        first = columns.filter(has=page.get_by_role("heading", name=SECOND)).last
        second = columns.filter(has=page.get_by_role("heading", name=COMPARED)).last
        assert beside(first, second)
        zero = [page.locator(f'.ml-row[data-model="{m}"][data-method="zero"]') for m in (SECOND, COMPARED)]
        assert beside(*zero)
        assert "VMASK mask E[q(R|x)] skipped" in page.locator('[data-testid="stColumn"]').filter(
            has_text="VMASK mask E[q(R|x)] skipped").last.inner_text()

        chip = page.locator(f'.ml-row[data-model="{SECOND}"][data-method="zero"] .ml-chip').nth(3)
        tip = chip.locator(".ml-tip")
        assert not tip.is_visible()
        chip.focus()
        assert tip.is_visible() and "log2 odds" in tip.inner_text() and "wooden" in tip.inner_text()
        page.keyboard.press("Tab")  # the next word's chip takes the focus and shows its tooltip
        following = page.locator(f'.ml-row[data-model="{SECOND}"][data-method="zero"] .ml-chip').nth(4)
        assert not tip.is_visible() and following.locator(".ml-tip").is_visible()
        marginal = page.locator(f'.ml-row[data-model="{SECOND}"][data-method="marginal"] .ml-chip').nth(3)
        marginal.hover()
        hover_tip = marginal.locator(".ml-tip")
        assert hover_tip.is_visible() and "top candidates" in hover_tip.inner_text()
        assert not following.locator(".ml-tip").is_visible()  # hovering another chip shows only that one's
        screenshot(page, "explain/tooltip-hover")
        marginal.focus()
        page.mouse.move(0, 0)
        assert hover_tip.is_visible()
        screenshot(page, "explain/tooltip-focus")
        last = page.locator(f'.ml-row[data-model="{COMPARED}"][data-method="marginal"] .ml-chip').last
        last.hover()
        edge = last.locator(".ml-tip").bounding_box()
        assert edge["x"] >= 0 and edge["x"] + edge["width"] <= 1500  # opens leftwards at the right edge
        screenshot(page, "explain/tooltip-right-edge")

        purple, signed = chip_colours(page, SECOND, "vmask"), chip_colours(page, SECOND, "zero")
        assert purple == {(106, 61, 154)} and signed and not purple & signed, (purple, signed)
        bars = page.eval_on_selector_all(".ml-row", "rows => rows.map(r => [r.dataset.method, "
                                         "r.previousElementSibling && r.previousElementSibling.className, "
                                         "r.previousElementSibling && r.previousElementSibling.innerText])")
        assert len(bars) == 5
        for method, kind, text in bars:
            assert kind == "ml-bar" and UNITS[method] in text, (method, kind, text)
        assert no_exception(page)

        phone = page.context.browser.new_page(viewport={"width": 414, "height": 896}, has_touch=True, is_mobile=True)
        phone.goto(f"{base}/{url_path('pages/1_Explain.py')}", timeout=60_000)
        wait_rows(phone, FIRST, 3)
        tapped = phone.locator(f'.ml-row[data-model="{FIRST}"][data-method="marginal"] .ml-chip').nth(1)
        tapped.tap()  # a tap focuses the chip (tabindex="0"), which opens its tooltip
        assert tapped.locator(".ml-tip").is_visible() and "log2 odds" in tapped.locator(".ml-tip").inner_text()
        screenshot(phone, "explain/tooltip-tap")
        phone.close()

        with page.expect_download() as download:  # the standalone heatmap: the same markup, its tooltips work alone
            page.get_by_role("button", name="Heatmap (HTML)").first.click()
        page.set_content(open(download.value.path(), encoding="utf-8").read())
        page.locator(".ml-chip").nth(3).focus()
        assert page.locator(".ml-chip").nth(3).locator(".ml-tip").is_visible()
        screenshot(page, "explain/standalone-download")
