"""Streamlit helpers shared by the MaskLens pages (not itself a page).

The dashboard follows Streamlit's own multipage convention: ``app.py`` is the Home page and
every other page is a script in ``pages/`` (``1_Explain.py`` ... ; Streamlit lists them by that
order and reads the label from the name). Each page starts with :func:`page_setup`, which sets
the layout, the thread policy and the sidebar navigation itself, so a page opened by its URL
first thing after the server started looks exactly like the same page reached from Home.
``core`` never imports Streamlit; everything Streamlit-specific that pages share lives here.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import logging
import os
import threading
import traceback
from pathlib import Path
from typing import Callable, Iterable, Iterator

import streamlit as st

from core import paths
from core.progress import Progress

LOG = logging.getLogger("masklens.app")
BAR_BEAT_SECONDS = 0.25  # a progress bar is redrawn (a point where a run can stop) at most this often within a unit

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


def page_setup(title: str, keep: Iterable[str] = ()) -> None:
    """Start a page: wide layout and the tab title, the thread policy, the sidebar's page links, and
    the page's settings as they were when the user last left it (``keep``: see :func:`keep_settings`).

    Streamlit's automatic page list is off (``.streamlit/config.toml``): these links give every
    page the same labels and icons whichever page was opened first.
    """
    from core.threads import apply_thread_policy

    st.set_page_config(page_title="MaskLens" if title == "Home" else f"{title} · MaskLens", layout="wide")
    apply_thread_policy()  # every rerun: cheap, and a torch imported since gets it too (core/threads.py)
    keep_settings(keep)
    with st.sidebar:
        for script, label, icon in PAGES:
            st.page_link(script, label=label, icon=icon)
        st.divider()


KEPT_SETTINGS = "_masklens_kept_settings"


def keep_settings(keys: Iterable[str]) -> None:
    """Let the widgets with these keys come back as the user left them after a visit to another page.

    Streamlit forgets a widget's value at the end of a run that did not draw it, so leaving a page
    reset its settings. Called at the top of the page, before its widgets: each key's current value
    (from this page's previous run) is copied aside, and a key Streamlit has forgotten gets its copy
    back. Only value widgets belong here (not buttons or file uploaders, whose state cannot be set).
    """
    kept = st.session_state.setdefault(KEPT_SETTINGS, {})
    for key in keys:
        if key in st.session_state:
            kept[key] = st.session_state[key]
        elif key in kept:
            st.session_state[key] = kept[key]


def session_watch() -> Callable[[], bool] | None:
    """A check "is this browser session still connected?" for long work that outlives a script run
    (a background training run), or None outside a served app (AppTest, bare mode).

    Streamlit drops a session from its active ones when its websocket closes (the tab was closed
    or the browser went away); a browser that reconnects gets the same session back.
    """
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx(suppress_warning=True)
    if context is None or not runtime.exists():
        return None
    served, session_id = runtime.get_instance(), context.session_id
    return lambda: served.is_active_session(session_id)


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
    so does a heartbeat of a forward chunk inside a unit, at most every :data:`BAR_BEAT_SECONDS`
    (when the unit runs under ``progress.running()``, as :meth:`ResultCache.unit` and the
    library's ``explain``/``evaluate`` run it). A redraw is where Streamlit stops a run it was
    asked to stop (a widget changed, Stop in the toolbar, Cancel, the tab closed):
    ``StopException``/``RerunException`` are raised from that ``st.*`` call, within one chunk. The
    bar is removed when the block ends normally and left as it is when the run is stopped (the next
    run redraws the page anyway; drawing now would only raise again).
    """
    bar = st.progress(0.0, text=start)
    progress = Progress(total, on_update=lambda p: bar.progress(p.fraction, text=describe(p)))
    progress.beat_seconds = BAR_BEAT_SECONDS
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


class ResultCache:
    """Computed results shared by every session of this server; the ``max_entries`` used last are kept.

    What ``st.cache_data`` gave the Explain and Sentence pairs pages (one entry per model version,
    input, method and parameters, so adding a method computes only it), with the computation
    outside any Streamlit cache: ``st.cache_data`` records the ``st`` calls its function makes in
    order to replay them, and cannot replay a redraw of a progress bar drawn outside it, so the
    bar could neither move nor stop the run inside a method. Values are deep-copied in and out,
    as ``st.cache_data`` copies them. Two sessions asking for the same missing key at once both
    compute it; the second result replaces the first.
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = int(max_entries)
        self._values: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def lookup(self, key: tuple) -> tuple[bool, object]:
        """(True, a copy of the value) when ``key`` is cached (it becomes the most recent), else (False, None)."""
        with self._lock:
            if key not in self._values:
                return False, None
            self._values.move_to_end(key)
            return True, copy.deepcopy(self._values[key])

    def store(self, key: tuple, value: object) -> None:
        """Keep a copy of ``value`` under ``key``, dropping the least recently used entry beyond ``max_entries``."""
        with self._lock:
            self._values[key] = copy.deepcopy(value)
            self._values.move_to_end(key)
            while len(self._values) > self.max_entries:
                self._values.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._values.clear()

    def unit(self, progress: Progress | None, stage: str, key: tuple, compute: Callable[[], object]) -> object:
        """The value of ``key``, computed by ``compute()`` when missing, as one unit of ``progress``.

        Cached: the unit is skipped (instant, left out of the estimate). Missing: ``stage`` is
        reported, ``compute`` runs with ``progress`` running (its forward chunks' heartbeats redraw
        the bar and are where Streamlit can stop the run), and the unit is timed.
        """
        if progress is not None:
            progress.set_stage(stage)
        found, value = self.lookup(key)
        if found:
            if progress is not None:
                progress.skip(1)
            return value
        if progress is None:
            value = compute()
        else:
            with progress.running():
                value = compute()
        self.store(key, value)
        if progress is not None:
            progress.advance(1)
        return value


EXPLANATIONS = ResultCache(400)  # the Explain page's explanations, one per (model version, text, method, params)
PAIR_EXPLANATIONS = ResultCache(300)  # the Sentence pairs page's


HF_ADDED_KEY = "hf_model_added"


def hf_model_adder(key: str, pair: bool = False) -> None:
    """A sidebar expander that registers the user's own Hugging Face classifier (``pair``: a sequence-pair
    one, a cross-encoder); every picker lists it then.

    The registering (load offline, check, fingerprint) is :func:`core.models.hf_classifier.register_hf_model`
    (pairs: :func:`core.models.hf_pair.register_hf_pair_model`), the same as ``python -m core.models register``.
    """
    from core.checkpoints import CheckpointError
    from core.models.hf_classifier import register_hf_model, suggested_name
    from core.models.hf_pair import register_hf_pair_model

    register = register_hf_pair_model if pair else register_hf_model
    title = "Add your own Hugging Face pair classifier" if pair else "Add your own Hugging Face classifier"
    with st.sidebar.expander(title):
        if HF_ADDED_KEY in st.session_state:
            st.success(st.session_state.pop(HF_ADDED_KEY))
        st.caption("A folder saved with `save_pretrained`, or a model name already in the local Hugging Face "
                   "cache: nothing is downloaded and the weights stay where they are."
                   + (" A sequence-pair classifier reads `[CLS] A [SEP] B [SEP]` (BERT-style tokens)." if pair
                      else ""))
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
                register(chosen, source, overwrite=replace)
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
