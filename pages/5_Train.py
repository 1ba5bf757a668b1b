"""Train page: pick data, architecture, method and hyper-parameters; train in the background and watch it.

The run lives in ``st.session_state`` (a :class:`core.training.background.TrainingRun`), so it goes on
while the page reruns; a fragment refreshes the progress twice a second, and waits for the run's end
in between, so the result shows as soon as the run ends. When it ends, the registry
listing is refreshed so the new checkpoint is in every page's model picker.
"""

from __future__ import annotations

import io
from dataclasses import MISSING

import streamlit as st

from ui.common import guarded, page_setup, refresh_registry, registry_listing, session_watch

RUN_KEY = "train_run"
START_KEY = "train_start_clicked"
REFRESH_SECONDS = 0.5
WAIT_SECONDS = 0.4  # of each refresh, spent waiting for the run to end (a click on Stop waits at most this)
BUNDLED, UPLOAD = "bundled dataset", "upload a CSV"
# Settings drawn as their own widgets; every other numeric TrainSettings field goes under "More settings".
MAIN_FIELDS = {"dataset", "architecture", "method", "epochs", "batch_size", "lr", "max_train", "max_eval", "seed",
               "device", "name", "half_precision"}
# The hyper-parameters each method's paper tunes; a method not listed here (added later) shows the
# TrainSettings fields named after it (e.g. ``foo_weight`` for ``foo``).
METHOD_FIELDS = {
    "l2": ["l2_weight"],
    "vmask": ["beta_start", "beta_end", "tau", "mask_hidden"],
    "iba": ["iba_beta", "mask_hidden"],
    "l2x": ["l2x_k", "tau", "mask_hidden"],
    "vat": ["vib_beta", "vat_iterations", "vat_phase_epochs"],
    "evarm": ["vib_beta", "supcon_tau", "tau", "mask_hidden"],
    "evarm_mask": ["vib_beta", "tau", "mask_hidden"],
}
# Text-valued architecture fields (their spec's ``page_fields``) -> the label of their text box.
TEXT_FIELDS = {"encoder": "Encoder (local folder or cached Hugging Face name; empty = packaged MiniLM)"}
PAPER_NOTES = {
    "base": "VMASK paper (Chen & Ji 2020): Adam, lr 1e-3 (BERT 2e-5; MaskLens' MiniLM 3e-5), batch 50 (32 for "
            "BERT), dropout 0.2; the epoch with the best dev accuracy is kept.",
    "vmask": "VMASK: β of −H(q(R|x)) annealed from 1.0 to 0.01 (schedule unstated; MaskLens: geometric per step), "
             "Gumbel-softmax temperature 0.5.",
    "vat": "VAT (Chen & Ji 2022): attention warm-up epochs, then compressor / learner iterations; β weighs the "
           "VIB KL term.",
    "evarm": "E-VarM: a gate at every MiniLM layer, β weighs −H(q(r|x)), supervised contrastive temperature.",
}


def architecture_labels() -> str:
    """The single-text architectures' labels in prose ("CNN, LSTM or MiniLM")."""
    from core.models.architectures import architecture_names, architecture_spec

    labels = [architecture_spec(name).label for name in architecture_names(pair=False, trainable=True)]
    return " or ".join([", ".join(labels[:-1]), labels[-1]] if len(labels) > 1 else labels)


def architecture_fields() -> dict[str, list[str]]:
    """Architecture -> the TrainSettings fields the page shows for it only (its spec's ``page_fields``)."""
    from core.models.architectures import ARCHITECTURE_SPECS

    return {name: list(spec.page_fields) for name, spec in ARCHITECTURE_SPECS.items() if spec.page_fields}


def settings_defaults() -> dict[str, object]:
    """TrainSettings field -> its default (the papers' defaults; None = resolved per architecture)."""
    from core.training.settings import settings_fields

    return {f.name: f.default for f in settings_fields() if f.default is not MISSING}


def number_widget(field: str, default, help_text: str, key: str):
    """A number input for one TrainSettings field, typed after its default (empty = None where allowed)."""
    label = field.replace("_", " ")
    if isinstance(default, bool):
        return st.checkbox(label, value=default, help=help_text, key=key)
    if isinstance(default, int):
        return st.number_input(label, value=default, step=1, help=help_text, key=key)
    if isinstance(default, float):
        return st.number_input(label, value=default, format="%g", step=default / 10 if default else 0.1,
                               help=help_text, key=key)
    # None default: optional integer resolved by the trainer
    return st.number_input(label, value=None, step=1, min_value=0, placeholder="default", help=help_text, key=key)


def text_widget(field: str, help_text: str, key: str) -> str | None:
    """A text box for one text-valued TrainSettings field (empty = None); an encoder is checked as typed.

    Raises:
        ValueError: the typed encoder is not a local folder or cached model (shown as "Bad settings").
    """
    from core.models.encoder import resolve_source

    typed = st.text_input(TEXT_FIELDS[field], key=key, help=help_text, placeholder="packaged MiniLM").strip()
    if not typed:
        return None
    st.caption(f"Encoder found at `{resolve_source(typed)}` (its own tokenizer is used).")
    return typed


def method_fields(method: str, architecture: str, defaults: dict) -> list[str]:
    """The hyper-parameter fields shown for ``method`` on ``architecture``."""
    listed = METHOD_FIELDS.get(method)
    if listed is None:
        prefix = method.split("_")[0] + "_"
        listed = [name for name in defaults if name.startswith(prefix)]
    return [name for name in listed + architecture_fields().get(architecture, []) if name in defaults]


def methods_for(architecture: str) -> list[str]:
    """Training methods that can train ``architecture`` (read from core.training.methods)."""
    from core.training.methods import METHODS, method_spec

    return [m for m in METHODS if architecture in method_spec(m).architectures]


@st.cache_data(show_spinner="Reading the CSV…", max_entries=4)
def cached_user_csv(content: bytes, file_name: str):
    """The validated :class:`DatasetSplits` of an uploaded CSV (raises DatasetError with a clear message)."""
    from core.data.datasets import load_user_csv

    upload = io.BytesIO(content)
    upload.name = file_name
    return load_user_csv(upload)


def data_panel():
    """Dataset choice; returns (dataset name, DatasetSplits or None for a bundled one), or None if unusable."""
    from core.data.datasets import dataset_info, list_datasets

    source = st.radio("Data", [BUNDLED, UPLOAD], horizontal=True, key="train_source")
    if source == BUNDLED:
        names = list_datasets()
        name = st.selectbox("Dataset", names, key="train_dataset")
        info = dataset_info(name)
        counts = info.get("counts", {})
        st.caption(f"{info.get('description', '')} · classes: {', '.join(info['label_names'])} · "
                   + " / ".join(f"{counts.get(s, '?')} {s}" for s in ("train", "dev", "test")))
        return name, None
    upload = st.file_uploader("CSV with columns text and label (optional split: train/dev/test)", type=["csv"],
                              key="train_upload")
    if upload is None:
        st.info("Upload a UTF-8 CSV with a text and a label column.")
        return None
    data = cached_user_csv(upload.getvalue(), upload.name)
    st.caption(f"{data.description} · classes: {', '.join(data.label_names)} · {len(data.train)} train / "
               f"{len(data.dev)} dev / {len(data.test)} test")
    st.caption("Models trained on an upload work on the Explain page; pages that reload the test data "
               "(Representations, Dataset importance's class table) need a bundled dataset.")
    return data.name, data


def settings_panel(dataset: str):
    """Architecture, method and hyper-parameters; returns a TrainSettings."""
    import torch

    from core.models.architectures import architecture_names, architecture_spec
    from core.training import TrainSettings
    from core.training.settings import plain_model_name, settings_help

    defaults, help_of = settings_defaults(), settings_help()
    arch_col, method_col = st.columns(2)
    architecture = arch_col.selectbox("Architecture", list(architecture_names(pair=False, trainable=True)),
                                      key="train_architecture")
    spec = architecture_spec(architecture, pair=False)
    method = method_col.selectbox("Method", methods_for(architecture), key="train_method")
    for note_method in dict.fromkeys(("base", method)):
        if note_method in PAPER_NOTES:
            st.caption(PAPER_NOTES[note_method])
    values: dict = {}
    cols = st.columns(3)
    with cols[0]:
        values["epochs"] = st.number_input("epochs", value=spec.epochs, step=1,
                                           help=help_of.get("epochs"), key=f"train_epochs_{architecture}")
    with cols[1]:
        values["batch_size"] = st.number_input("batch size", value=spec.batch_size, step=1,
                                               help=help_of.get("batch_size"), key=f"train_batch_{architecture}")
    with cols[2]:
        values["lr"] = st.number_input("learning rate", value=spec.learning_rate, format="%g", step=1e-4,
                                       help=help_of.get("lr"), key=f"train_lr_{architecture}")
    shown = method_fields(method, architecture, defaults)
    texts = [name for name in shown if name in TEXT_FIELDS]
    shown = [name for name in shown if name not in TEXT_FIELDS]
    for name in texts:
        values[name] = text_widget(name, help_of.get(name, ""), f"train_{name}")
    if shown:
        st.markdown(f"**{method} hyper-parameters** (paper defaults)")
        cols = st.columns(min(len(shown), 4))
        for index, name in enumerate(shown):
            with cols[index % len(cols)]:
                values[name] = number_widget(name, defaults[name], help_of.get(name, ""), f"train_{name}")
    cols = st.columns(4)
    with cols[0]:
        values["max_train"] = st.number_input("max train examples", value=None, min_value=1, step=100,
                                              placeholder="all", key="train_max_train",
                                              help="train on a seeded subset of this size (quick runs); empty = all")
    with cols[1]:
        values["max_eval"] = st.number_input("max dev/test examples", value=None, min_value=1, step=100,
                                             placeholder="all", key="train_max_eval",
                                             help="evaluate on seeded dev/test subsets of this size; empty = all")
    with cols[2]:
        values["seed"] = st.number_input("seed", value=0, min_value=0, step=1, key="train_seed",
                                         help=help_of.get("seed"))
    with cols[3]:
        devices = ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        values["device"] = st.selectbox("device", devices, key="train_device",
                                        help="auto: CUDA when present, else CPU")
    if spec.transformer and not torch.cuda.is_available():
        st.caption(f"No CUDA device here: a full {spec.label} epoch on movie-snippets takes about 3 minutes on a "
                   "2-core CPU (README benchmarks); set max train examples for a quick run.")
    with st.expander("More settings"):
        owned = {f for names in [*METHOD_FIELDS.values(), *architecture_fields().values()] for f in names}
        rest = [name for name in defaults if name not in MAIN_FIELDS | owned and name not in shown
                and isinstance(defaults[name], (int, float, type(None)))]
        cols = st.columns(4)
        for index, name in enumerate(rest):
            with cols[index % 4]:
                values[name] = number_widget(name, defaults[name], help_of.get(name, ""), f"train_more_{name}")
    default_name = f"my-{plain_model_name(architecture, method, dataset, values.get('encoder'))}"
    typed = st.text_input("Model name", key="train_name", placeholder=default_name,
                          help=f"empty: {default_name}; letters, digits, '.', '_' and '-'")
    values = {k: v for k, v in values.items() if v is not None}
    return TrainSettings(dataset=dataset, architecture=architecture, method=method,
                         name=typed.strip() or default_name, **values)


def mark_start() -> None:
    """The Start button's callback: runs before the next script run, so that run starts training and draws the
    button disabled (a second click cannot start or queue another run)."""
    st.session_state[START_KEY] = True


def start_run(settings, data, overwrite: bool = False, outlive_tab: bool = False) -> None:
    """Validate and start a background run, kept in the session (errors are shown by ``guarded``).

    Unless ``outlive_tab``, the run is watched: once this browser session has been gone for
    ``ORPHAN_GRACE_SECONDS`` (the tab was closed) it stops and saves the best epoch so far.
    """
    from core.training.background import TrainingRun

    watch = None if outlive_tab else session_watch()
    st.session_state[RUN_KEY] = TrainingRun(settings, data=data, overwrite=overwrite, keep_alive=watch).start()
    st.session_state.pop("train_registered", None)


def time_left(state) -> str:
    """`` · about 40 s left`` (or ``3 min``) while a pace is known, else empty."""
    if state.done or state.remaining is None or state.status not in ("training", "stopping"):
        return ""
    seconds = state.remaining
    return f" · about {seconds:.0f} s left" if seconds < 90 else f" · about {seconds / 60:.0f} min left"


def draw_progress(state) -> None:
    """Progress bar, status line and the two curves of a run's state."""
    from core.viz.training import accuracy_figure, loss_figure

    label = {"preparing": "Preparing (building the model, encoding the data)…", "training": "Training",
             "stopping": "Stopping after this step…", "saving": "Measuring test accuracy and saving…",
             "finished": "Finished", "stopped": "Stopped early", "failed": "Failed"}.get(state.status, state.status)
    st.progress(state.fraction, text=f"{label} · epoch {state.epoch}/{state.epochs} · step {state.step}/"
                                     f"{state.total_steps} · {state.elapsed:.0f} s{time_left(state)}")
    steps_per_epoch = state.total_steps // state.epochs if state.epochs else None
    left, right = st.columns(2)
    if state.losses:
        left.plotly_chart(loss_figure(state.losses, steps_per_epoch), key="train-loss")
    if state.history:
        right.plotly_chart(accuracy_figure(state.history), key="train-accuracy")


@st.fragment(run_every=REFRESH_SECONDS)
def live_panel() -> None:
    """Redrawn every second while the run is going; a full rerun shows the result when it ends."""
    run = st.session_state.get(RUN_KEY)
    if run is None:
        return
    run.join(timeout=WAIT_SECONDS)  # returns the moment the run ends, so the result shows without a poll's delay
    state = run.state()
    if state.done:
        st.rerun()
    st.subheader(f"Training {state.name}")
    if st.button("Stop", key="train_stop", help="stop after the current step; the best epoch so far is saved"):
        run.stop()
        state = run.state()
    draw_progress(state)


def result_panel(run) -> None:
    """The outcome of a finished run: metrics, curves, and whether the model is now listed."""
    state = run.state()
    st.subheader(f"Training {state.name}")
    if state.status == "failed":
        st.error(f"Training failed: {state.error}")
    else:
        if not st.session_state.get("train_registered"):
            refresh_registry()
            st.session_state["train_registered"] = True
        listed = state.name in {r["name"] for r in registry_listing()[0]}
        metrics = state.metrics or {}
        summary = (f"test accuracy {100 * metrics.get('test_accuracy', float('nan')):.2f}% "
                   f"(majority class {100 * metrics.get('majority_test_accuracy', float('nan')):.2f}%), "
                   f"best dev accuracy {100 * metrics.get('dev_accuracy', float('nan')):.2f}% at epoch "
                   f"{metrics.get('best_epoch')}, {metrics.get('train_seconds', 0):.1f} s of training")
        if state.status == "stopped":
            st.info(f"Stopped early; the best epoch so far was saved: {summary}.")
        else:
            st.success(f"Trained **{state.name}**: {summary}.")
        if listed:
            st.success(f"{state.name} is now in every page's model picker (saved to {state.path}).")
        else:
            st.warning(f"{state.name} was saved to {state.path} but is not in the model list; see the Home page.")
    draw_progress(state)
    if st.button("Clear", key="train_clear", help="forget this run (the saved model stays)"):
        st.session_state.pop(RUN_KEY, None)
        st.rerun()


def main() -> None:
    """Lay out the page."""
    from core.device import describe_device
    from core.training.background import ORPHAN_GRACE_SECONDS, user_model_exists

    st.title("Train a model")
    st.markdown(f"Train a {architecture_labels()} classifier with one of the papers' methods on a bundled dataset or "
                "your own CSV. Training runs in the background of this session (closing the tab stops it, unless "
                "you tick *Keep training if this tab is closed*); the model is saved under `$MASKLENS_HOME/models` "
                "and appears in every page's model picker.")
    run = st.session_state.get(RUN_KEY)
    busy = run is not None and not run.state().done
    clicked = st.session_state.pop(START_KEY, False)  # set by Start's callback; never kept for a later run
    chosen = None
    with guarded("The dataset cannot be used"):
        chosen = data_panel()
    if chosen is not None:
        dataset, data = chosen
        settings = None
        with guarded("Bad settings"):
            settings = settings_panel(dataset)
        if settings is not None:
            st.caption(f"Device: {describe_device()}" if settings.device == "auto" else f"Device: {settings.device}")
            overwrite = False
            if user_model_exists(settings.name):
                just_trained = run is not None and run.state().done and run.settings.name == settings.name
                if just_trained:
                    st.info(f"{settings.name} is the model just trained (below). To train another, choose a new "
                            "name or replace it.")
                else:
                    st.warning(f"A model called {settings.name} exists. Choose another name, or replace it.")
                overwrite = st.checkbox(f"Replace {settings.name}", key="train_overwrite")
            outlive_tab = st.checkbox(
                "Keep training if this tab is closed", key="train_outlive_tab",
                help=f"Off: closing the tab stops the run within {ORPHAN_GRACE_SECONDS:.0f} s and saves the best "
                     "epoch so far, so no CPU is used for a page nobody watches. On: the run goes on to the end "
                     "and its model appears in every page's model picker.")
            if clicked and not busy:  # start before the button is drawn, so it is drawn disabled
                with guarded("Cannot start training"):
                    start_run(settings, data, overwrite, outlive_tab)
                    busy = True
            st.button("Start training", type="primary", disabled=busy, key="train_start", on_click=mark_start,
                      help="Disabled while a run is going (from the moment it is clicked).")
    if busy:
        live_panel()
    elif st.session_state.get(RUN_KEY) is not None:
        result_panel(st.session_state[RUN_KEY])


page_setup("Train")
with guarded("The Train page failed"):
    main()
