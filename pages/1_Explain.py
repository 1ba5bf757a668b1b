"""Explain page: type a sentence, compare how VMASK, erasure and marginalization highlight it.

A second model is shown beside the first, in two columns: one row per method across both, the class to
explain chosen by name on both (a model without a class of that name explains its predicted class and
says so), and with "shared across rows" one colour scale per unit over every row of both models.

Each method's explanation is cached on its own (:func:`compute_explanation` through
``ui.common.EXPLANATIONS``), so adding a method to the choice computes only that one. While
methods are computed a progress bar says "method k/n: <label> · about N s left" (the mean seconds
of the methods computed so far times those left; cached methods are instant and left out of the
mean; inside a method whose loop knows its fraction done, that fraction moves the bar too).

Stopping. Streamlit stops a script run only at a yield point: every ``st.*`` call that sends
something to the browser checks for a pending stop or rerun request
(``ScriptRunner._maybe_handle_execution_control_request``) and raises ``StopException`` /
``RerunException`` there. The progress bar is redrawn between two methods and, inside a method,
at the heartbeat of a forward chunk at most every ``ui.common.BAR_BEAT_SECONDS`` (the method runs
under the bar's ``Progress.running()``), so that is where a run stops:

- closing the tab: the websocket closes, ``Runtime.disconnect_session`` calls
  ``AppSession.request_script_stop()`` (Streamlit 1.67 source, checked in the served app too), so
  the run stops within a forward chunk of the method under way; no later method starts;
- **Cancel** (or Stop in Streamlit's toolbar, or changing a widget): the same, and after Cancel
  the page shows "stopped" for those inputs instead of starting again (**Explain again** resumes;
  the methods finished before are cached);
- with ``runner.fastReruns`` (Streamlit's default) a widget change starts the new run at once
  while the old one reaches its next redraw, within a forward chunk.

The explanations are not in ``st.cache_data``: it records its function's ``st`` calls for replay and
cannot replay a redraw of a bar drawn outside it (``ui.common.ResultCache`` says more).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from core.explain.marginal import DEFAULT_BUDGET
from core.explain.registry import DEFAULT_METHODS, explainers_for
from ui.common import (EXPLANATIONS, cached_model, checkpoint_stamp, guarded, hf_model_adder, method_progress_text,
                       page_setup, progress_bar, registry_listing)

METHODS = {name: cls.label for name, cls in explainers_for("text").items()}  # what each explainer declares
DEFAULT_MODEL = "cnn-vmask-movie-snippets"
EXAMPLES = {
    "sentiment": ["a gripping , beautifully acted film that never lets go",
                  "the plot is thin and the jokes fall flat , but the cast is charming",
                  "an unbearably slow and pretentious mess",
                  "not the best movie of the year , but far from the worst"],
    "questions": ["what is the capital of france ?", "who wrote the declaration of independence ?",
                  "how many miles is it from earth to the moon ?", "what does nasa stand for ?"],
}
RUNNING_KEY, CANCELLED_KEY, SLOT_KEY = "explain_running", "explain_cancelled", "explain_result_slot"
TYPE_OWN, PREDICTED = "(type your own)", "predicted class"  # the example picker's and the class picker's first choices
BUDGETS = ["auto", "exact", 64, 128, 256, 512, 1024]
LONG_RUN_SECONDS = 5.0  # estimates above this are shown before the run starts


@st.cache_resource(show_spinner="Loading the likelihood model…", max_entries=3)
def cached_likelihood(spec: str, dataset: str | None):
    """The likelihood model for input marginalization (cached)."""
    from core.lm.mlm import load_likelihood

    return load_likelihood(spec, dataset=dataset)


def compute_explanation(name: str, path: str, text: str, method: str, target: int | None,
                        params_json: str, stamp: str = "") -> tuple[list[dict], dict[str, str]]:
    """One method's explanation (as a dict, or none and the reason it was skipped) for (model version,
    text, method, target, that method's parameters); cached by :func:`explain_each`."""
    from core.explain.registry import explain

    params = json.loads(params_json)
    model = cached_model(name, path, stamp)
    likelihood_spec = params.pop("likelihood", None)
    needs_likelihood = explainers_for("text")[method].needs_likelihood
    likelihood = cached_likelihood(likelihood_spec, model.config.get("dataset")) if needs_likelihood else None
    run = explain(model, text, methods=[method], target=target, likelihood=likelihood, **params)
    return [e.to_dict() for e in run.explanations], dict(run.skipped)


def budget_label(budget) -> str:
    """How the budget choice reads in the picker."""
    return {"auto": f"auto (exact on word models, {DEFAULT_BUDGET} on transformers)",
            "exact": "exact (the paper's sum)"}.get(budget, f"{budget} passes per word")


@st.cache_data(show_spinner="Estimating the time…", max_entries=200)
def cached_estimate(name: str, path: str, text: str, methods: tuple[str, ...], params_json: str,
                    stamp: str = "") -> dict[str, float | None]:
    """Expected seconds per method (:func:`core.explain.registry.estimate_seconds`), per input and settings."""
    from core.explain.registry import estimate_seconds

    params = json.loads(params_json)
    model = cached_model(name, path, stamp)
    spec = params.pop("likelihood", None)
    likelihood = cached_likelihood(spec, model.config.get("dataset")) if "marginal" in methods else None
    return estimate_seconds(model, text, list(methods), likelihood=likelihood, **params)


def show_estimate(record: dict, text: str, methods: list[str], params: dict) -> None:
    """Before a run expected to take over :data:`LONG_RUN_SECONDS`: what each slow method should take."""
    estimates = cached_estimate(record["name"], record["path"], text, tuple(methods),
                                json.dumps(params, sort_keys=True), checkpoint_stamp(record["path"]))
    known = {m: s for m, s in estimates.items() if s is not None}
    if sum(known.values()) <= LONG_RUN_SECONDS:
        return
    slow = ", ".join(f"{METHODS.get(m, m)} ≈ {s:.0f} s" for m, s in known.items() if s >= 1)
    st.caption(f"Expected time on this machine if not cached: {slow} (estimated from each method's classifier "
               "passes; Cancel stops the computation within moments).")


def explain_each(record: dict, text: str, methods: list[str], target: int | None, params: dict,
                 progress=None) -> tuple[list[dict], dict[str, str]]:
    """Every method's explanation through ``EXPLANATIONS``, each keyed by its own parameters only.

    ``progress`` (a :class:`core.progress.Progress`) is told of each method before and after it, and
    beaten inside it: computed ones are timed, cached ones skipped; each redraw is a point where the
    run can stop.
    """
    from core.explain.registry import route_params

    shared = {k: v for k, v in params.items() if k != "likelihood"}
    routed = route_params(methods, shared)
    stamp = checkpoint_stamp(record["path"])
    rows, skipped = [], {}
    for method in methods:
        needs_likelihood = explainers_for("text")[method].needs_likelihood
        own = {**routed[method], **({"likelihood": params["likelihood"]} if needs_likelihood else {})}
        key = (record["name"], record["path"], text, method, target, json.dumps(own, sort_keys=True), stamp)
        method_rows, method_skipped = EXPLANATIONS.unit(progress, METHODS.get(method, method), key,
                                                        lambda key=key: compute_explanation(*key))
        rows += method_rows
        skipped.update(method_skipped)
    return rows, skipped


def methods_picker() -> list[str]:
    """The methods, full width above the two columns so each chosen method's label reads whole."""
    return st.multiselect("Methods", list(METHODS), default=list(DEFAULT_METHODS), format_func=METHODS.get,
                          key="explain_methods", help="One row of word chips per method, for each model shown.")


def settings_panel(names: list[str], label_names_of: dict[str, list[str]]):
    """The right-hand column: model, comparison model, class (by name), colour scale and parameters."""
    model_name = st.selectbox("Model", names, index=names.index(DEFAULT_MODEL) if DEFAULT_MODEL in names else 0,
                              key="explain_model")
    others = ["(none)"] + [n for n in names if n != model_name]
    compare = st.selectbox("Compare with a second model", others, key="explain_compare",
                           help="shown beside the first, e.g. base vs VMASK, the comparison of the VMASK paper's "
                                "Table 1; it explains the class of the same name")
    class_name = st.selectbox("Explain class", [PREDICTED] + label_names_of[model_name], key="explain_class")
    shared = st.radio("Colour scale", ["shared across rows", "per row"], horizontal=True, key="explain_scale",
                      help="shared: one scale per unit across every row of both models") == "shared across rows"
    with st.expander("Parameters"):
        params = {
            "likelihood": st.selectbox("Likelihood model (marginalization)", ["mlm", "unigram", "uniform"],
                                       key="explain_likelihood", help="mlm: the shipped fine-tuned MiniLM masked LM"),
            "sigma": st.select_slider("Likelihood threshold σ", [1e-6, 1e-5, 1e-4, 1e-3], value=1e-5,
                                      key="explain_sigma"),
            "marginal": {"budget": st.selectbox(
                "Marginalization budget", BUDGETS, format_func=budget_label, key="explain_budget",
                help="classifier passes per word: auto is exact on word models (CNN, LSTM) and at most "
                     f"{DEFAULT_BUDGET} on transformers, where exact takes minutes; the rest of the likelihood "
                     "mass is then estimated from a sample, with a standard error per word")},
            "lime": {"n_samples": st.number_input("LIME samples", 50, 5000, 500, step=50, key="explain_lime")},
            "shapley": {"n_permutations": st.number_input("Shapley permutations", 5, 500, 25, step=5,
                                                          key="explain_shapley")},
            "seed": st.number_input("Seed", 0, 2**31 - 1, 0, key="explain_seed"),
        }
    return model_name, (None if compare == "(none)" else compare), None if class_name == PREDICTED else class_name, \
        shared, params


def _example_picked() -> None:
    """The picker's callback: an example goes into the box; "(type your own)" empties it to type in."""
    choice = st.session_state.explain_example
    st.session_state.explain_text = "" if choice == TYPE_OWN else choice


def _text_edited(examples: list[str]) -> None:
    """The box's callback: the picker shows the example the box now holds, else "(type your own)"."""
    text = st.session_state.explain_text
    st.session_state.explain_example = text if text in examples else TYPE_OWN


def text_panel(dataset: str) -> str:
    """The left-hand column: the example picker and the text box, which always agree."""
    examples = EXAMPLES["questions" if dataset == "trec6" else "sentiment"]
    if "explain_text" not in st.session_state:
        st.session_state.explain_text = examples[0]
    if st.session_state.get("explain_example") not in [TYPE_OWN] + examples:  # first run, or another dataset
        _text_edited(examples)
    st.selectbox("Example sentences", [TYPE_OWN] + examples, key="explain_example", on_change=_example_picked)
    return st.text_area("Text to explain", key="explain_text", height=100, max_chars=20000, on_change=_text_edited,
                        args=(examples,))


def class_target(label_names: list[str], class_name: str | None, name: str) -> tuple[int | None, str | None]:
    """The index of the class named ``class_name`` in ``label_names`` (None: the predicted class), and a
    note when the model has no class of that name (it then explains its predicted class)."""
    if class_name is None:
        return None, None
    if class_name in label_names:
        return label_names.index(class_name), None
    return None, (f"{name} has no class “{class_name}” (its classes: {', '.join(label_names)}), so it explains "
                  "its predicted class.")


@dataclass
class ModelResult:
    """What one model's column shows: its notes or the reason it explains nothing, and its rows."""

    name: str
    label_names: list[str]
    notes: list[str] = field(default_factory=list)
    class_note: str | None = None
    warning: str | None = None
    explanations: list = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def row(self, method: str):
        """This model's explanation by ``method``, or None."""
        return next((e for e in self.explanations if e.method == method), None)


def compute_result(record: dict, text: str, methods: list[str], class_name: str | None,
                   params: dict) -> ModelResult:
    """Check the text and explain it with every method (a progress bar meanwhile); nothing is drawn for it yet."""
    from core.explain.base import Explanation
    from core.explain.inputs import check_text

    model = cached_model(record["name"], record["path"], checkpoint_stamp(record["path"]))
    result = ModelResult(record["name"], list(model.label_names))
    check = check_text(model, text)
    if not check.ok:
        result.warning = check.error
        return result
    target, result.class_note = class_target(result.label_names, class_name, record["name"])
    result.notes = list(check.notes)
    show_estimate(record, text, methods, params)
    with progress_bar(len(methods), method_progress_text,
                      start=f"Explaining with {record['name']}: {len(methods)} method(s)…") as bar:
        rows, result.skipped = explain_each(record, text, methods, target, params, bar)
    result.explanations = [Explanation(**row) for row in rows]
    return result


def show_header(result: ModelResult) -> None:
    """A model's heading, its notes and its prediction (or why it explains nothing)."""
    st.subheader(result.name)
    if result.warning:
        st.warning(result.warning)
        return
    for note in result.notes:
        st.info(note)
    if result.class_note:
        st.caption(result.class_note)
    if result.explanations:
        first = result.explanations[0]
        probs = ", ".join(f"{name}: {p:.3f}" for name, p in zip(result.label_names, first.probs))
        st.markdown(f"**Prediction:** {result.label_names[first.predicted]} ({probs}) · "
                    f"explaining **{first.target_name}**")


def show_results(results: list[ModelResult], methods: list[str], shared: bool) -> None:
    """The models side by side: headings, then one row per method across the columns, then downloads."""
    from core.viz.heatmap import heatmap_html, word_alignment_note

    everything = [e for result in results for e in result.explanations]
    for column, result in zip(st.columns(len(results)), results):
        with column:
            show_header(result)
    shown = [r for r in results if r.explanations]
    if len(shown) == 2:
        note = word_alignment_note(shown[0].name, shown[0].explanations[0].words,
                                   shown[1].name, shown[1].explanations[0].words)
        if note:
            st.info(note)
    if not shown:
        return
    for method in methods:
        for column, result in zip(st.columns(len(results)), results):
            explanation = result.row(method)
            if explanation is not None:
                column.html(heatmap_html([explanation], shared_scale=shared, scale_from=everything))
            elif method in result.skipped:
                column.caption(f"{METHODS.get(method, method)} skipped: {result.skipped[method]}")
    st.caption("Signed rows: red supports the explained class, blue opposes it. Unsigned rows (masks, attention, "
               "global importance): purple, darker = more important, no direction. Each row's bar gives its range "
               "and unit (shared: one scale per unit across every row shown); hover a word, or focus it with Tab, "
               "for its score (and, for marginalization, the top candidate words).")
    for column, result in zip(st.columns(len(results)), results):
        if result.explanations:
            with column:
                download_buttons(result.name, result.explanations, shared, everything)


def download_buttons(name: str, explanations, shared: bool, scale_from=None) -> None:
    """CSV and JSON of the scores and the heatmap as standalone HTML (the colours as on the page)."""
    from core.viz.heatmap import heatmap_html

    table = pd.DataFrame([{"model": name, "method": e.method, "position": i, "word": w, "score": s,
                           "unit": e.params.get("unit", ""), "target": e.target_name}
                          for e in explanations for i, (w, s) in enumerate(zip(e.words, e.scores))])
    cols = st.columns(3)
    cols[0].download_button("Scores (CSV)", table.to_csv(index=False), f"{name}-explanation.csv", "text/csv",
                            key=f"csv-{name}")
    cols[1].download_button("Scores (JSON)", json.dumps([e.to_dict() for e in explanations], indent=2),
                            f"{name}-explanation.json", "application/json", key=f"json-{name}")
    cols[2].download_button("Heatmap (HTML)", heatmap_html(explanations, shared, standalone=True,
                                                           scale_from=scale_from),
                            f"{name}-heatmap.html", "text/html", key=f"html-{name}")


def main() -> None:
    """Lay out the page and run the explanations."""
    st.title("Explain a prediction")
    hf_model_adder("explain")
    records, problems = registry_listing()
    records = [r for r in records if not r["pair"]]
    if not records:
        st.info("No single-text models are available. Train one on the Train page.")
        return
    by_name = {r["name"]: r for r in records}
    methods = methods_picker()
    left, right = st.columns([3, 2])
    with right:
        model_name, compare, class_name, shared, params = settings_panel(
            list(by_name), {n: list(r["label_names"]) for n, r in by_name.items()})
    with left:
        text = text_panel(by_name[model_name]["dataset"])
    if not methods:
        st.info("Pick at least one method.")
        return
    inputs = json.dumps([model_name, compare, text, methods, class_name, params], sort_keys=True)
    cancel = st.empty()
    if st.session_state.get(CANCELLED_KEY) == inputs:
        # the same layout as a run's (Cancel's place, then a result slot): a stopped view's button left
        # behind at another place stayed on the page, stale, and the next Cancel click did not reach the server
        with result_slot():
            st.info("Explaining was stopped. Methods finished before are kept; change a setting or press "
                    "**Explain again** to go on.")
            st.button("Explain again", on_click=resume)
        return
    st.session_state[RUNNING_KEY] = inputs
    cancel.button("Cancel", key="explain_cancel", on_click=cancel_running,
                  help="Stops after the method under way; finished methods stay cached.")
    with result_slot():
        results = []
        for name in [model_name] + ([compare] if compare else []):
            with guarded(f"Could not explain with {name}"):
                results.append(compute_result(by_name[name], text, methods, class_name, params))
        if results:
            show_results(results, methods, shared)
    cancel.empty()


def result_slot():
    """A new container for this run's result, in the one of two places the previous result did not use.

    The browser keeps the children of a container drawn at the same place in the previous run (faded) until
    each is redrawn, so a new heading would show above the old rows while the new ones compute. Here the old
    result's place gets an ``st.empty()``, which removes it at once (an ``st.empty()`` at the new container's
    own place would not: Streamlit merges it into the container's message before sending).
    """
    places = [st.empty(), st.empty()]
    slot = 1 - st.session_state.get(SLOT_KEY, 1)
    st.session_state[SLOT_KEY] = slot
    return places[slot].container()


def cancel_running() -> None:
    """The Cancel button's callback (run at the start of the next run): remember the inputs stopped."""
    st.session_state[CANCELLED_KEY] = st.session_state.get(RUNNING_KEY)


def resume() -> None:
    """The Explain again button's callback: forget the stop, so this run explains."""
    st.session_state.pop(CANCELLED_KEY, None)


page_setup("Explain", keep=("explain_model", "explain_compare", "explain_class", "explain_scale", "explain_methods",
                            "explain_example", "explain_text", "explain_likelihood", "explain_sigma", "explain_budget",
                            "explain_lime", "explain_shapley", "explain_seed"))
with guarded("The Explain page failed"):
    main()
