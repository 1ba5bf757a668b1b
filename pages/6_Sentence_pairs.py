"""Sentence pairs page: explain a pair model with GMASK groups, IMASK, zero erasure and LIME.

Each method is explained and cached on its own (adding a method computes only it), with a progress
bar "method k/n: <label> · about N s left" between methods (GMASK takes seconds a pair). The bar's
redraw between two methods is where a run stops (a changed widget, Stop in the toolbar, a closed
tab; see :mod:`pages/1_Explain.py`); a method under way runs to its end.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.explain.registry import DEFAULT_PAIR_METHODS, explainers_for
from ui.common import (PAIR_EXPLANATIONS, cached_model, checkpoint_stamp, guarded, hf_model_adder, method_progress_text,
                       page_setup, progress_bar, registry_listing)

METHODS = {name: cls.label for name, cls in explainers_for("pair").items()}  # what each pair explainer declares
DEFAULT_MODEL = "dattn-trec6-answer-type-pairs"
EXAMPLES = [
    ("who wrote the declaration of independence ?", "who painted the mona lisa ?"),
    ("what is the capital of france ?", "how many people live in tokyo ?"),
    ("how far is the moon from the earth ?", "how many miles is it to mars ?"),
    ("what does nasa stand for ?", "where is the eiffel tower ?"),
]


def compute_explanation(name: str, path: str, text_a: str, text_b: str, method: str, target: int | None,
                        params_json: str, stamp: str = "") -> list[dict]:
    """One method's pair explanation (as dicts; none when it was skipped) for (model version, texts, method,
    target, that method's parameters); cached by :func:`explain_each`."""
    from core.explain.registry import explain_pair

    run = explain_pair(cached_model(name, path, stamp), text_a, text_b, methods=[method], target=target,
                       **json.loads(params_json))
    return [e.to_dict() for e in run.explanations]


def explain_each(record: dict, text_a: str, text_b: str, methods: list[str], target: int | None, params: dict,
                 progress=None) -> list[dict]:
    """Every method's explanation through ``PAIR_EXPLANATIONS``, each keyed by its own parameters only;
    ``progress`` (a :class:`core.progress.Progress`) is told before and after each method and beaten
    inside it (each redraw is a point where the run can stop)."""
    from core.explain.registry import route_params

    routed = route_params(methods, params, kind="pair")
    stamp = checkpoint_stamp(record["path"])
    rows = []
    for method in methods:
        key = (record["name"], record["path"], text_a, text_b, method, target,
               json.dumps(routed[method], sort_keys=True), stamp)
        rows += PAIR_EXPLANATIONS.unit(progress, METHODS.get(method, method), key,
                                       lambda key=key: compute_explanation(*key))
    return rows


TYPE_OWN = "(type your own)"


def example_labels() -> list[str]:
    """The picker's choices: "(type your own)", then one label per example pair."""
    return [TYPE_OWN] + [f"{a}  ↔  {b}" for a, b in EXAMPLES]


def _example_picked() -> None:
    """The picker's callback: an example pair goes into the boxes; "(type your own)" empties them to type in."""
    labels = example_labels()
    choice = st.session_state.pair_example
    pair = ("", "") if choice == TYPE_OWN else EXAMPLES[labels.index(choice) - 1]
    st.session_state.pair_text_a, st.session_state.pair_text_b = pair


def _text_edited() -> None:
    """The boxes' callback: the picker shows the example pair the boxes now hold, else "(type your own)"."""
    pair = (st.session_state.pair_text_a, st.session_state.pair_text_b)
    labels = example_labels()
    st.session_state.pair_example = labels[EXAMPLES.index(pair) + 1] if pair in EXAMPLES else TYPE_OWN


def text_panel() -> tuple[str, str]:
    """Example picker and the two text boxes, which always agree."""
    if "pair_text_a" not in st.session_state:
        st.session_state.pair_text_a, st.session_state.pair_text_b = EXAMPLES[0]
    if st.session_state.get("pair_example") not in example_labels():  # first run
        _text_edited()
    st.selectbox("Example pairs", example_labels(), key="pair_example", on_change=_example_picked)
    text_a = st.text_area("First text (A)", key="pair_text_a", height=80, max_chars=20000, on_change=_text_edited)
    text_b = st.text_area("Second text (B)", key="pair_text_b", height=80, max_chars=20000, on_change=_text_edited)
    return text_a, text_b


def settings_panel(records: dict[str, dict]):
    """Model, methods, target, colour scale and method parameters."""
    names = list(records)
    name = st.selectbox("Pair model", names, index=names.index(DEFAULT_MODEL) if DEFAULT_MODEL in names else 0,
                        key="pair_model")
    classes = ["predicted class"] + list(records[name]["label_names"])
    target_label = st.selectbox("Explain class", classes, key="pair_class")
    shared = st.radio("Colour scale", ["shared across rows", "per row"], horizontal=True,
                      key="pair_scale") == "shared across rows"
    with st.expander("Parameters"):
        steps = st.number_input("GMASK/IMASK steps (0 = model default)", 0, 1000, 0, step=10, key="pair_steps")
        samples = st.number_input("GMASK/IMASK samples per step (0 = model default)", 0, 1000, 0, step=10,
                                  key="pair_samples")
        params = {"seed": st.number_input("Seed", 0, 2**31 - 1, 0, key="pair_seed"),
                  "lime": {"n_samples": st.number_input("LIME samples", 50, 5000, 500, step=50, key="pair_lime")},
                  "shapley": {"n_permutations": st.number_input("Shapley permutations", 5, 500, 25, step=5,
                                                                key="pair_shapley")}}
        for method in ("gmask", "imask"):
            params[method] = {k: int(v) for k, v in (("steps", steps), ("n_samples", samples)) if v}
    target = None if target_label == "predicted class" else classes.index(target_label) - 1
    return name, target, shared, params


def show_groups(explanation, key: str) -> None:
    """GMASK's groups: the plotly figure of word-to-group links and a table of groups with their words."""
    from core.viz.pairs import MIN_PROB, group_table, groups_figure

    st.markdown("**GMASK groups** — words of A (top, pink) and B (bottom, blue) linked to the groups that hold "
                "them; a node's colour and size are the group's importance ψ, a line's width and opacity the "
                "probability φ that the word is in that group (hover for the numbers). As in the paper, GMASK "
                f"groups only the {explanation.params.get('k', 10)} words IMASK ranks highest (at least one of "
                "each text); the other words are in no group.")
    st.plotly_chart(groups_figure(explanation), key=key)
    st.dataframe(pd.DataFrame(group_table(explanation)), hide_index=True)
    st.caption(f"Each group lists the words most probably in it and any word with φ ≥ {MIN_PROB}; a group no "
               "word prefers lists its most probable word.")


def show_result(record: dict, text_a: str, text_b: str, methods: list[str], target: int | None, shared: bool,
                params: dict) -> None:
    """Check the texts, explain them, draw chips, groups, probabilities and downloads."""
    from core.explain.base import PairExplanation
    from core.explain.inputs import check_pair
    from core.viz.pairs import pair_rows_html

    model = cached_model(record["name"], record["path"], checkpoint_stamp(record["path"]))
    check = check_pair(model, text_a, text_b)
    if not check.ok:
        st.warning(check.error)
        return
    for note in check.notes:
        st.info(note)
    with progress_bar(len(methods), method_progress_text, start=f"Explaining with {len(methods)} method(s)…") as bar:
        rows = explain_each(record, text_a, text_b, methods, target, params, bar)
    if not rows:
        st.info("None of the chosen methods applies to this model.")
        return
    explanations = [PairExplanation(**row) for row in rows]
    first = explanations[0]
    st.markdown(f"**Prediction:** {model.label_names[first.predicted]} · explaining **{first.target_name}**")
    st.dataframe(pd.DataFrame({"class": model.label_names, "probability": [round(p, 4) for p in first.probs]}),
                 hide_index=True)
    st.html(pair_rows_html(explanations, shared_scale=shared))
    st.caption("Row A is the first text, row B the second. Signed methods: red supports the explained class, "
               "blue opposes it; unsigned ones (GMASK, IMASK) are purple. Saturation is the attribution on the "
               "row's colour bar. Hover a word, focus it with Tab or tap it for its score.")
    for index, explanation in enumerate(explanations):
        if explanation.groups:
            show_groups(explanation, key=f"pair-groups-{index}")
    downloads(record["name"], explanations, shared, model.label_names)


def downloads(name: str, explanations, shared: bool, label_names) -> None:
    """CSV and JSON of the scores (and groups), and the chips as standalone HTML."""
    from core.viz.pairs import pair_rows_html

    table = pd.DataFrame([{"model": name, "method": e.method, "text": "A" if i < e.n_words_a else "B",
                           "position": i if i < e.n_words_a else i - e.n_words_a, "word": w, "score": s,
                           "unit": e.params.get("unit", ""), "target": e.target_name}
                          for e in explanations for i, (w, s) in enumerate(zip(e.words, e.scores))])
    cols = st.columns(3)
    cols[0].download_button("Scores (CSV)", table.to_csv(index=False), f"{name}-pair-explanation.csv", "text/csv")
    cols[1].download_button("Scores and groups (JSON)", json.dumps([e.to_dict() for e in explanations], indent=2),
                            f"{name}-pair-explanation.json", "application/json")
    chips = pair_rows_html(explanations, shared, standalone=True, label_names=label_names)
    cols[2].download_button("Chips (HTML)", chips, f"{name}-pair-chips.html", "text/html")


def main() -> None:
    """Lay out the page and run the explanations."""
    st.title("Sentence pairs")
    st.caption("GMASK learns groups of correlated words across the two texts and how much each group matters "
               "(Chen et al. 2021); IMASK, zero erasure and LIME score words one by one.")
    hf_model_adder("pairs", pair=True)
    records, _ = registry_listing()
    by_name = {r["name"]: r for r in records if r["pair"]}
    if not by_name:
        st.info("No sentence-pair models are available (pair: true in `python -m core.models list`).")
        return
    methods = st.multiselect("Methods", list(METHODS), default=list(DEFAULT_PAIR_METHODS), format_func=METHODS.get,
                             key="pair_methods")  # full width, so every chosen method's label is readable
    left, right = st.columns([3, 2])
    with right:
        name, target, shared, params = settings_panel(by_name)
    with left:
        text_a, text_b = text_panel()
    if not methods:
        st.info("Pick at least one method.")
        return
    with guarded(f"Could not explain with {name}"):
        show_result(by_name[name], text_a, text_b, methods, target, shared, params)


page_setup("Sentence pairs", keep=("pair_model", "pair_class", "pair_scale", "pair_steps", "pair_samples", "pair_seed",
                                   "pair_lime", "pair_shapley", "pair_methods", "pair_example", "pair_text_a",
                                   "pair_text_b"))
with guarded("The Sentence pairs page failed"):
    main()
