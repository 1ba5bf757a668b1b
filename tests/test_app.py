"""Dashboard tests: every page under Streamlit's AppTest, and (e2e) the served app in Chromium."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.toy import toy_dataset

from tests.browser import APP, REPO_ROOT, chromium_page, http_get, served_app  # noqa: F401 - APP, REPO_ROOT: other tests
MODEL_NAME = "tiny-cnn-vmask"
TIMEOUT = 120  # seconds per AppTest run (the first run imports torch)


def registered_pages() -> list[str]:
    """The page scripts the sidebar links to, e.g. ``pages/1_Explain.py`` (Home, ``app.py``, left out)."""
    from ui.common import PAGES

    return [script for script, _, _ in PAGES if script != "app.py"]


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory):
    """A ``$MASKLENS_HOME`` holding one real, tiny user-trained model (CNN + VMASK, 1 epoch)."""
    from core.training.trainer import TrainSettings, train

    home = tmp_path_factory.mktemp("masklens_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MASKLENS_HOME", str(home))
        train(TrainSettings(architecture="cnn", method="vmask", epochs=1, name=MODEL_NAME, device="cpu"),
              data=toy_dataset(n_train=200, n_eval=50), output_dir=home / "models", progress=False)
    return home


@pytest.fixture
def app_home(trained_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the in-process app at the trained home for one test."""
    monkeypatch.setenv("MASKLENS_HOME", str(trained_home))
    return trained_home


def _run_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page:
        at.switch_page(page).run()
    return at


def test_home_lists_trained_model(app_home: Path) -> None:
    at = _run_app()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "MaskLens"
    table = at.table[0].value
    assert {"name", "dataset", "architecture", "method", "test accuracy", "source", "pair"} <= set(table.columns)
    row = table[table["name"] == MODEL_NAME]
    assert len(row) == 1, table
    assert row.iloc[0]["source"] == "user" and row.iloc[0]["method"] == "vmask"
    assert row.iloc[0]["test accuracy"].endswith("%")
    calibrated = table[table["name"] == "minilm-sim-trec6-answer-type-pairs"].iloc[0]  # made by a project script
    assert calibrated["method"] == "calibrated-cosine" and calibrated["source"] == "shipped"
    assert any("Device in use" in m.value for m in at.markdown)


def test_home_without_models_and_with_broken_checkpoint(masklens_home: Path) -> None:
    (masklens_home / "models" / "broken").mkdir(parents=True)
    at = _run_app()
    assert not at.exception, [e.value for e in at.exception]
    assert any("broken" in w.value for w in at.warning)


def test_every_page_file_is_linked_and_every_page_sets_itself_up() -> None:
    on_disk = {f"pages/{p.name}" for p in (REPO_ROOT / "pages").glob("*.py")}
    assert on_disk == set(registered_pages())
    for script in [APP, *registered_pages()]:
        source = (REPO_ROOT / script).read_text()
        assert re.search(r"^page_setup\(\"[^\"]+\"(, keep=\([^)]*\))?\)$", source, re.M | re.S), \
            f"{script} does not call page_setup first"


@pytest.mark.parametrize("page", registered_pages())
def test_page_runs_without_exception(page: str, app_home: Path) -> None:
    at = _run_app(page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title, f"{page} shows no title"


def test_guarded_turns_exceptions_into_messages() -> None:
    def script() -> None:
        import streamlit as st

        from ui.common import guarded

        with guarded("Demo failed"):
            raise ValueError("bad input")
        st.write("after")

    at = AppTest.from_function(script, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.error[0].value == "Demo failed: bad input"
    assert at.markdown[-1].value == "after"


# --------------------------------------------------------------------------- end to end


@pytest.mark.e2e
def test_served_app_in_chromium(trained_home: Path, tmp_path: Path, chromium_executable: str) -> None:
    with served_app(trained_home, tmp_path / "streamlit.log") as base:
        assert http_get(f"{base}/_stcore/health").strip() == "ok"
        with chromium_page(chromium_executable) as page:
            page.goto(f"{base}/", timeout=60_000)
            cell = page.locator('[data-testid="stTable"]').get_by_text(MODEL_NAME, exact=True)
            cell.wait_for(state="visible", timeout=90_000)
            page.get_by_text("Device in use").wait_for(timeout=30_000)
            assert page.title() == "MaskLens"
            assert page.locator('[data-testid="stException"]').count() == 0
            sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
            for title in ("Explain", "Dataset importance", "Faithfulness", "Train", "Sentence pairs"):
                assert title in sidebar
            if os.environ.get("MASKLENS_E2E_SCREENSHOT"):
                page.screenshot(path=os.environ["MASKLENS_E2E_SCREENSHOT"], full_page=True)
            page.goto(f"{base}/Reproductions", timeout=60_000)
            page.get_by_role("heading", name="Reproductions").wait_for(timeout=60_000)
            page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=60_000)  # the forest plot
            assert page.locator('[data-testid="stException"]').count() == 0


def test_a_page_keeps_its_settings_after_a_visit_to_another_page(masklens_home: Path) -> None:
    """Streamlit forgets the values of widgets a run did not draw; ui.common.keep_settings brings them back."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at = at.switch_page("pages/1_Explain.py").run()
    at.multiselect(key="explain_methods").set_value(["zero", "lime"])
    at.number_input(key="explain_lime").set_value(800)
    at.text_area(key="explain_text").input("the soundtrack alone is worth the ticket")
    at.run()
    at = at.switch_page("pages/3_Faithfulness.py").run()
    at.number_input(key="faithfulness_n").set_value(40)
    at.run()
    at = at.switch_page("pages/1_Explain.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.multiselect(key="explain_methods").value == ["zero", "lime"]
    assert at.number_input(key="explain_lime").value == 800
    assert at.text_area(key="explain_text").value == "the soundtrack alone is worth the ticket"
    at = at.switch_page("pages/3_Faithfulness.py").run()
    assert at.number_input(key="faithfulness_n").value == 40


def test_reproductions_shows_verdicts_first_and_links_pair_degradation_to_faithfulness(masklens_home: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at = at.switch_page("pages/7_Reproductions.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert list(at.dataframe[0].value.columns)[:4] == ["finding", "verdict", "A - B", "95% CI"]
    at.selectbox(key="repro_row").set_value("gmask-vs-lime-degradation-dattn-signed").run()
    labels = [link.proto.label for link in at.get("page_link")]
    assert "Measure it on the Faithfulness page" in labels, labels  # the shipped report says Sentence pairs
