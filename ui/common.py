"""Streamlit helpers shared by the MaskLens pages (not itself a page).

The dashboard follows Streamlit's own multipage convention: ``app.py`` is the Home page and
every other page is a script in ``pages/`` (``1_Explain.py`` ... ; Streamlit lists them by that
order and reads the label from the name). Each page starts with :func:`page_setup`, which sets
the layout, the thread policy and the sidebar navigation itself, so a page opened by its URL
first thing after the server started looks exactly like the same page reached from Home.
``core`` never imports Streamlit; everything Streamlit-specific that pages share lives here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import traceback
from pathlib import Path
from typing import Callable, Iterator

import streamlit as st

from core import paths
from core.progress import Progress

LOG = logging.getLogger("masklens.app")

# (script, sidebar label, icon): Home first, then pages/ in their file order
PAGES = (
    ("app.py", "Home", ":material/home:"),
    ("pages/1_Explain.py", "Explain", ":material/search:"),
    ("pages/2_Dataset_importance.py", "Dataset importance", ":material/bar_chart:"),
    ("pages/3_Faithfulness.py", "Faithfulness", ":material/fact_check:"),
    ("pages/4_Representations.py", "Representations", ":material/scatter_plot:"),
    ("pages/5_Train.py", "Train", ":material/model_training:"),
    ("pages/6_Sentence_pairs.py", "Sentence pairs", ":material/compare_arrows:"),
    ("pages/7_Reproductions.py", "Reproductions", ":material/verified:"),
)


def page_setup(title: str) -> None:
    """Start a page: wide layout and the tab title, the thread policy, and the sidebar's page links.

    Streamlit's automatic page list is off (``.streamlit/config.toml``): these links give every
    page the same labels and icons whichever page was opened first.
    """
    from core.threads import apply_thread_policy

    st.set_page_config(page_title="MaskLens" if title == "Home" else f"{title} · MaskLens", layout="wide")
    apply_thread_policy()  # every rerun: cheap, and a torch imported since gets it too (core/threads.py)
    with st.sidebar:
        for script, label, icon in PAGES:
            st.page_link(script, label=label, icon=icon)
        st.divider()


def error_details(err: BaseException, with_traceback: bool = False) -> str:
    """Plain-text description of ``err`` and its causes (the traceback only if asked)."""
    if with_traceback:
        return "".join(traceback.format_exception(err))
    lines, seen = [], set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        lines.append(f"{type(err).__name__}: {err}")
        err = err.__cause__ or err.__context__
    return "\n  caused by ".join(lines)


@contextlib.contextmanager
def guarded(what: str = "This page failed") -> Iterator[None]:
    """Run a block so that no exception traceback reaches the page.

    Any ``Exception`` is logged, shown as ``st.error(f"{what}: {err}")`` and
    detailed (type and causes; the full traceback when ``MASKLENS_DEBUG`` is
    set) in a collapsed expander. Streamlit's own control flow (``st.stop``,
    ``st.rerun``, ``st.switch_page``) derives from ``BaseException`` and passes.
    """
    try:
        yield
    except Exception as err:  # noqa: BLE001 - the point is to catch everything
        LOG.exception("%s", what)
        st.error(f"{what}: {err}")
        with st.expander("Details"):
            st.text(error_details(err, with_traceback=bool(os.environ.get("MASKLENS_DEBUG"))))


@st.cache_data(ttl=30, show_spinner=False)
def _cached_models(user_models_dir: str) -> tuple[list[dict], list[str]]:
    from core.registry import list_models

    problems: list[str] = []
    records = [r.to_dict() for r in list_models(problems=problems)]
    return records, problems


def registry_listing() -> tuple[list[dict], list[str]]:
    """Registered models (as dicts) and registry problems, cached for 30 s.

    The cache is keyed on the user model directory, so a changed
    ``$MASKLENS_HOME`` is picked up at once and new models within 30 s.
    """
    return _cached_models(str(paths.user_models_dir()))


def refresh_registry() -> None:
    """Forget the cached registry listing, so every page's picker sees a model trained just now."""
    _cached_models.clear()


def checkpoint_stamp(path: str) -> str:
    """A version of the checkpoint at ``path`` for cache keys: its config file's mtime and size.

    A checkpoint saved again under the same name (``--overwrite``, the Train page's "Replace")
    gets a new config file, so nothing cached for the old weights is served for the new ones.
    """
    try:
        info = (Path(path) / "config.json").stat()
    except OSError:  # not a checkpoint folder (e.g. an ``hf-pair:`` source)
        return ""
    return f"{info.st_mtime_ns}-{info.st_size}"


@st.cache_resource(show_spinner="Loading model…", max_entries=4)
def cached_model(name: str, path: str, stamp: str = ""):
    """The loaded model of a registry record, cached per (name, path, :func:`checkpoint_stamp`); one cache
    for every page."""
    from core.models import load_model

    return load_model(path)


@contextlib.contextmanager
def progress_bar(total: int, describe: Callable[[Progress], str], start: str = "Starting…") -> Iterator[Progress]:
    """A ``st.progress`` bar driven by a :class:`core.progress.Progress` of ``total`` units.

    ``describe(progress)`` gives the bar's text at each report. Each report redraws the bar, and
    a redraw is where Streamlit stops a run it was asked to stop (a widget changed, Stop in the
    toolbar, the tab closed): ``StopException``/``RerunException`` are raised from that ``st.*``
    call, between two units. The bar is removed when the block ends normally and left as it is
    when the run is stopped (the next run redraws the page anyway; drawing now would only raise again).
    """
    bar = st.progress(0.0, text=start)
    progress = Progress(total, on_update=lambda p: bar.progress(p.fraction, text=describe(p)))
    try:
        yield progress
    except Exception:
        bar.empty()
        raise
    bar.empty()


def method_progress_text(progress: Progress) -> str:
    """A methods bar's text: ``"method k/n: <label> · about N s left"`` (k the method under way)."""
    current = min(progress.done + 1, progress.total)
    return f"method {current}/{progress.total}: {progress.stage} · {progress.describe()}"


class CacheMisses:
    """Tells a computed unit from a cached one, which ``st.cache_data`` does not say.

    The cached function calls :meth:`note` in its body (run only on a cache miss, in the calling
    thread); :meth:`unit` wraps one call and reports it to a progress tracker: timed when the
    body ran, skipped (untimed) when the cache answered.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def note(self) -> None:
        """Record that the cached function's body ran in this thread."""
        self._local.count = self.count + 1

    @property
    def count(self) -> int:
        """How many times the body ran in this thread."""
        return getattr(self._local, "count", 0)

    @contextlib.contextmanager
    def unit(self, progress: Progress | None, stage: str) -> Iterator[None]:
        """Report ``stage`` to ``progress`` (None: nothing), run the block, then report it as one unit."""
        if progress is None:
            yield
            return
        progress.set_stage(stage)
        before = self.count
        yield
        (progress.advance if self.count > before else progress.skip)(1)


HF_ADDED_KEY = "hf_model_added"


def hf_model_adder(key: str) -> None:
    """A sidebar expander that registers the user's own Hugging Face classifier; every picker lists it then.

    The registering (load offline, check, fingerprint) is :func:`core.models.hf_classifier.register_hf_model`,
    the same as ``python -m core.models register``.
    """
    from core.checkpoints import CheckpointError
    from core.models.hf_classifier import register_hf_model, suggested_name

    with st.sidebar.expander("Add your own Hugging Face classifier"):
        if HF_ADDED_KEY in st.session_state:
            st.success(st.session_state.pop(HF_ADDED_KEY))
        st.caption("A folder saved with `save_pretrained`, or a model name already in the local Hugging Face "
                   "cache: nothing is downloaded and the weights stay where they are.")
        source = st.text_input("Folder or cached name", key=f"{key}-hf-source",
                               placeholder="/path/to/my-sentiment-model").strip()
        name = st.text_input("Name in MaskLens", key=f"{key}-hf-name",
                             placeholder=suggested_name(source) if source else "my-classifier").strip()
        replace = st.checkbox("Replace a model of that name", key=f"{key}-hf-replace",
                              help="Only a registered or trained MaskLens model is replaced, never another folder.")
        if not st.button("Add model", key=f"{key}-hf-add", disabled=not source):
            return
        chosen = name or suggested_name(source)
        try:
            with st.spinner("Loading the model offline and fingerprinting it…"):
                register_hf_model(chosen, source, overwrite=replace)
        except (ValueError, CheckpointError, OSError) as err:
            message = str(err).replace(" (--overwrite, overwrite=True)", " (tick “Replace a model of that name”)")
            st.error(message)
            return
    refresh_registry()
    st.session_state[HF_ADDED_KEY] = f"Added **{chosen}**: pick it in the model list."
    st.rerun()


def data_picker(record: dict, key: str, where=st) -> str | None:
    """For a model without data of its own (a Hugging Face classifier): a bundled dataset to use, else None."""
    from core.data.datasets import dataset_info, list_datasets
    from core.data.model_data import label_mismatch

    if record.get("dataset"):
        return None
    name = where.selectbox("Dataset (test split)", list_datasets(), key=f"{key}-dataset",
                           help="A Hugging Face classifier records no data of its own: pick the bundled dataset "
                                "whose test sentences it is run on.")
    mismatch = label_mismatch(list(record["label_names"]), list(dataset_info(name)["label_names"]))
    if mismatch:
        where.warning(f"Check that this data suits the model: {mismatch}. The metrics use the model's own "
                      "predicted class, so they still run.")
    return name


def models_with_adder(key: str) -> list[dict]:
    """The registered models (as dicts) for a page that also takes the user's own Hugging Face classifier:
    the sidebar adder (:func:`hf_model_adder`), then the listing, each registry problem as a caption."""
    hf_model_adder(key)
    records, problems = registry_listing()
    for problem in problems:
        st.caption(problem)
    return records
