"""Faithfulness page: which explanation method is most faithful to a model, on n test sentences.

Runs :func:`core.evaluation.evaluate` (with its on-disk store, so a repeated evaluation is
instant) and draws AOPC vs k, post-hoc accuracy vs k, the MoRF/LeRF degradation curves, the
AUC_rep curves and ERASER comprehensiveness / sufficiency per threshold, one colour per explainer,
with a summary table and exports.

Before a run, a caption gives each chosen explainer's expected seconds per example on this model
(:func:`core.explain.registry.estimate_seconds` on a typical test example). While it runs, a
progress bar says what is under way ("explaining with LIME: 12/60 sentences · about 40 s left",
then "computing AOPC for LIME"; :class:`core.viz.faithfulness.ProgressWords`) and estimates the
time the explanations still need (the mean seconds of those computed in this run; stored ones are
instant and left out; the metrics' time is not estimated). **Cancel** (as Stop in the toolbar, a
changed widget or a closed tab) stops the run at the next bar update, that is between two explanations: Streamlit raises
from that ``st.*`` call (see :mod:`pages/1_Explain.py`), the store writes what was explained on the way
out, and pressing **Evaluate** again resumes from there.
"""

from __future__ import annotations

import json

import streamlit as st

from core.evaluation.common import DELETION_LABELS, HIGHER_IS_BETTER, METRIC_LABELS
from ui.common import (cached_model, checkpoint_stamp, data_picker, guarded, models_with_adder, page_setup,
                       progress_bar)

DEFAULT_MODEL = "cnn-vmask-movie-snippets"
DEFAULT_EXPLAINERS = ("vmask", "zero", "lime")
PAIR_DEFAULT_EXPLAINERS = ("zero", "lime")  # GMASK/IMASK take seconds a pair
RESULTS_KEY = "faithfulness_results"
CANCELLED_KEY = "faithfulness_cancelled"


def controls(models: list[str], pair_models: set[str], records: dict[str, dict]) -> dict:
    """The evaluation settings chosen in the page's widgets (pair models get the pair explainers and metrics).

    Explainers and metrics each get a full-width row, so every chosen one is readable.
    """
    from core.evaluation.pairs import PAIR_METRICS
    from core.evaluation.runner import DELETIONS, METRICS
    from core.explain.registry import explainers_for
    from core.metrics.pairs import PAIR_OPERATIONS

    top = st.columns([2, 2, 3])
    model = top[0].selectbox("Model", models, index=models.index(DEFAULT_MODEL) if DEFAULT_MODEL in models else 0,
                             key="faithfulness_model")
    pair = model in pair_models
    kind = "pair" if pair else "text"
    dataset = data_picker(records[model], "faithfulness", top[1])
    labels = {name: cls.label for name, cls in explainers_for(kind).items()}
    defaults = PAIR_DEFAULT_EXPLAINERS if pair else DEFAULT_EXPLAINERS
    explainers = st.multiselect("Explainers", list(labels), default=[e for e in defaults if e in labels],
                                key=f"explainers-{kind}", format_func=lambda name: labels.get(name, name),
                                help="The explanation methods to compare. The VMASK mask and global word importance "
                                     "need a mask model; the caption below gives each one's expected time on this "
                                     "model.")
    metric_names = list(PAIR_METRICS if pair else METRICS)
    metrics = st.multiselect("Metrics", metric_names, default=metric_names, key=f"metrics-{kind}",
                             format_func=lambda m: METRIC_LABELS.get(m, m))
    row = st.columns(4)
    n = row[0].number_input("Test examples (n)", min_value=1, max_value=5000, value=100, step=50, key="faithfulness_n")
    seed = row[1].number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="faithfulness_seed")
    operation = row[2].selectbox("Deletion (AOPC, degradation)", list(PAIR_OPERATIONS if pair else DELETIONS),
                                 format_func=DELETION_LABELS.get, key=f"operation-{kind}",
                                 help="Pair models: words are removed from either text.")
    aopc_k = row[3].number_input("AOPC K", min_value=1, max_value=50, value=10, step=1, key="faithfulness_aopc_k",
                                 help="The VMASK paper's Table 4 uses 5, GMASK 10.")
    return {"model": model, "explainers": tuple(explainers), "metrics": tuple(metrics), "n": int(n),
            "seed": int(seed), "operation": operation, "aopc_k": int(aopc_k), "dataset": dataset,
            "ray": ray_controls()}


def ray_controls() -> dict | None:
    """Where the explanations are computed: None for this process, else the Ray engine's options."""
    with st.expander("Compute on Ray (optional)"):
        on = st.toggle("Explain on Ray workers", key="faithfulness_ray",
                       help="The same numbers as in this process (README \"Scale-out with Ray\"); needs "
                            "`pip install -r requirements-ray.txt`.")
        columns = st.columns([3, 1, 1])
        address = columns[0].text_input("Ray address", key="faithfulness_ray_address", disabled=not on,
                                        placeholder="empty: start a local Ray; auto; ray://host:10001")
        workers = columns[1].number_input("Workers", 1, 512, 2, key="faithfulness_ray_workers", disabled=not on)
        gpus = columns[2].number_input("GPUs per worker", 0.0, 8.0, 0.0, step=0.5, key="faithfulness_ray_gpus",
                                       disabled=not on)
    return {"address": address.strip() or None, "workers": int(workers), "gpus_per_worker": float(gpus)} if on else None


def without_engine(settings: dict) -> dict:
    """The settings that decide the numbers (not where they were computed)."""
    return {key: value for key, value in settings.items() if key != "ray"}


def explainer_labels() -> dict[str, str]:
    """Explainer name -> its declared label (``explainers_for()[name].label``), as the Explain page shows them."""
    from core.explain.registry import explainers_for

    return {name: cls.label for name, cls in explainers_for().items()}


@st.cache_data(show_spinner="Reading the test sample…", max_entries=32)
def cached_sample(model: str, stamp: str, n: int, seed: int, dataset: str | None):
    """The examples the evaluation explains (:func:`core.viz.faithfulness.evaluation_sample`)."""
    from core.data.datasets import load_dataset
    from core.viz.faithfulness import evaluation_sample

    return evaluation_sample(model, n, seed, data=load_dataset(dataset) if dataset else None)


def sample_of(settings: dict, record: dict):
    """The settings' test sample, or None when it cannot be read ahead (the page then says less)."""
    try:
        return cached_sample(settings["model"], checkpoint_stamp(record["path"]), settings["n"], settings["seed"],
                             settings.get("dataset"))
    except Exception:  # noqa: BLE001 - only the counts and the estimate need it; evaluate reports real errors
        return None


@st.cache_resource(show_spinner="Loading the masked LM for the estimate…", max_entries=1)
def cached_mlm():
    """The shipped MLM (marginalization's likelihood), loaded once."""
    from core.lm.mlm import load_likelihood

    return load_likelihood("mlm")


@st.cache_data(show_spinner="Estimating the time…", max_entries=200)
def cached_estimate(name: str, path: str, stamp: str, methods: tuple[str, ...], example_json: str) -> dict:
    """Expected seconds per example of each method (:func:`core.explain.registry.estimate_seconds`)."""
    from core.explain.registry import estimate_seconds

    example = json.loads(example_json)
    text, text_b = example if isinstance(example, list) else (example, None)
    likelihood = cached_mlm() if "marginal" in methods else None
    return estimate_seconds(cached_model(name, path, stamp), text, list(methods), likelihood=likelihood,
                            text_b=text_b)


def seconds_text(seconds: float) -> str:
    """``0.004 s``, ``2.3 s``, ``40 s``, ``3.5 min``."""
    if seconds < 1:
        return f"{seconds:.2g} s"
    if seconds < 90:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def show_estimate(record: dict, settings: dict, sample, labels: dict[str, str]) -> None:
    """A caption: each chosen explainer's expected seconds per example on this model, and the total for n."""
    if sample is None or not sample.inputs:
        return
    try:
        estimates = cached_estimate(record["name"], record["path"], checkpoint_stamp(record["path"]),
                                    settings["explainers"], json.dumps(sample.typical()))
    except Exception as err:  # noqa: BLE001 - an estimate is only a hint
        st.caption(f"No time estimate for this model: {err}")
        return
    known = {m: s for m, s in estimates.items() if s is not None}
    if not known:
        return
    one = sample.unit[:-1]
    each = ", ".join(f"{labels.get(m, m)} ≈ {seconds_text(s)}" for m, s in known.items())
    total = sum(known.values()) * len(sample.inputs)
    st.caption(f"Expected time on this machine for this model, per {one}: {each}; about {seconds_text(total)} "
               f"for {len(sample.inputs)} {sample.unit} (estimated from each explainer's classifier passes on a "
               f"typical test {one}; explanations already stored are instant, metrics not included).")


def mark_cancelled() -> None:
    """The Cancel button's callback (run at the start of the next run): say so on that run's page."""
    st.session_state[CANCELLED_KEY] = True


def run_evaluation(settings: dict, sample, labels: dict[str, str]) -> dict:
    """Evaluate with a progress bar and a Cancel button; the results are kept in the session for these settings.

    Returns ``{"settings", "records", "seconds"}``: ``seconds`` maps each explainer to the mean seconds one
    explanation took when it was computed (:func:`core.viz.faithfulness.stored_seconds`).
    """
    from core.data.datasets import load_dataset
    from core.evaluation import evaluate
    from core.evaluation.engines import make_engine
    from core.viz.faithfulness import ProgressWords, stored_seconds

    data = load_dataset(settings["dataset"]) if settings.get("dataset") else None
    cancel = st.empty()
    cancel.button("Cancel", key="faithfulness_cancel", on_click=mark_cancelled,
                  help="Stops after the explanation under way; those done stay in the store, so Evaluate resumes.")
    words = ProgressWords(len(sample.inputs) if sample else None, labels, sample.unit if sample else "examples")
    engine = make_engine("ray", **settings["ray"]) if settings.get("ray") else make_engine("local")
    try:
        with progress_bar(0, words) as progress:
            records = evaluate(settings["model"], explainers=settings["explainers"], metrics=settings["metrics"],
                               n=settings["n"], seed=settings["seed"], operation=settings["operation"],
                               aopc_k=settings["aopc_k"], progress=False, on_progress=progress, data=data,
                               engine=engine)
    finally:
        engine.close()
    cancel.empty()
    results = {"settings": settings, "records": records,
               "seconds": stored_seconds(records, sample) if sample else {}}
    st.session_state[RESULTS_KEY] = results
    return results


def show_results(results: dict) -> None:
    """Summary table (the chosen metrics' columns only), the figures in a grid and the exports."""
    from core.viz.faithfulness import (
        ERASER_METRICS,
        SECONDS_COLUMN,
        SECONDS_HELP,
        aopc_figure,
        auc_rep_figure,
        curve_points,
        degradation_figure,
        eraser_figure,
        posthoc_figure,
        summary_table,
    )

    settings, records = results["settings"], results["records"]
    for record in records:
        if record.get("skipped"):
            st.caption(f"Skipped **{record['explainer']}**: {record['skipped']}")
        elif record.get("errors"):
            st.caption(f"**{record['explainer']}** could not explain {len(record['errors'])} sentence(s) "
                       f"(e.g. no word the model knows); they are left out of its numbers.")
    table = summary_table(records, metrics=settings["metrics"], seconds=results.get("seconds"), skipped=False)
    st.subheader("Summary")
    config = {c: st.column_config.NumberColumn(format="%.4f") for c in table.columns if c not in ("explainer", "n")}
    config[SECONDS_COLUMN] = st.column_config.NumberColumn(SECONDS_COLUMN, format="%.4f", help=SECONDS_HELP)
    st.dataframe(table, hide_index=True, column_config=config)
    chosen = [m for m in settings["metrics"] if any(m in r.get("metrics", {}) for r in records)]
    better = {flag: ", ".join(METRIC_LABELS[m] for m in chosen if HIGHER_IS_BETTER.get(m) is flag)
              for flag in (True, False)}
    st.caption(" ".join(f"{names}: {word} is better." for names, word in ((better[True], "higher"),
                                                                          (better[False], "lower")) if names)
               + f" {SECONDS_COLUMN}: seconds one explanation took when it was computed (the column's help says "
               "more). Deletion: " + DELETION_LABELS[settings["operation"]] + ".")
    metrics = set(chosen)
    builders = [(m, f) for m, f in (("aopc", aopc_figure), ("posthoc", posthoc_figure),
                                    ("degradation", degradation_figure), ("auc_rep", auc_rep_figure)) if m in metrics]
    builders += [(m, lambda rs, m=m: eraser_figure(rs, m)) for m in ERASER_METRICS if m in metrics]
    figures = {}
    for start in range(0, len(builders), 2):
        for column, (metric, build) in zip(st.columns(2), builders[start:start + 2]):
            figures[metric] = build(records)
            column.plotly_chart(figures[metric], key=f"faithfulness-{metric}")
    st.caption("Each chart's camera button downloads it as PNG; the buttons below give HTML and the numbers.")
    on = f"{settings['dataset']}-" if settings.get("dataset") else ""
    stem = f"{settings['model']}-{on}n{settings['n']}-seed{settings['seed']}"
    slots = 2 + len(figures)
    downloads = [column for _ in range(0, slots, 4) for column in st.columns(4)]  # four a row: labels stay whole
    downloads[0].download_button("Summary (CSV)", table.to_csv(index=False), f"{stem}-summary.csv", "text/csv")
    downloads[1].download_button("Curves (CSV)", curve_points(records).to_csv(index=False), f"{stem}-curves.csv",
                                 "text/csv")
    for column, (metric, figure) in zip(downloads[2:], figures.items()):
        column.download_button(f"{METRIC_LABELS[metric].split(' ')[0]} (HTML)",
                               figure.to_html(include_plotlyjs="cdn", full_html=True), f"{stem}-{metric}.html",
                               "text/html", key=f"html-{metric}")
    with st.expander("Raw records (JSON)"):
        st.code(json.dumps(records, indent=1, default=str)[:20000], language="json")


def main() -> None:
    """Lay out the page."""
    st.title("Faithfulness")
    st.markdown("Delete the words an explanation ranks highest and watch the prediction: AOPC (GMASK eq. 9), "
                "post-hoc accuracy (VMASK 5.1.2), the degradation test (GMASK eq. 10-11), AUC_rep "
                "(input marginalization 3.5) and ERASER comprehensiveness and sufficiency (DeYoung et al. 2020) "
                "on a seeded sample of test sentences. Explanations and results are "
                "stored under `$MASKLENS_HOME/evaluations`, so running the same settings again is instant; "
                "`python -m core.evaluate` gives the same numbers.")
    records = models_with_adder("faithfulness")
    models = [r["name"] for r in records]
    if not models:
        st.info("No model is available. Train one on the Train page.")
        return
    by_name = {r["name"]: r for r in records}
    settings = controls(models, {r["name"] for r in records if r.get("pair")}, by_name)
    if not settings["explainers"] or not settings["metrics"]:
        st.info("Choose at least one explainer and one metric.")
        return
    sample = sample_of(settings, by_name[settings["model"]])
    labels = explainer_labels()
    show_estimate(by_name[settings["model"]], settings, sample, labels)
    previous = st.session_state.get(RESULTS_KEY)
    if st.session_state.pop(CANCELLED_KEY, False):
        st.warning("Evaluation cancelled. The explanations computed so far are kept in the store: press "
                   "**Evaluate** to resume from there.")
    if st.button("Evaluate", type="primary"):
        with guarded("The evaluation failed"):
            previous = run_evaluation(settings, sample, labels)
    if not previous:
        st.info("Press **Evaluate**. Settings evaluated before are served from the store at once.")
        return
    if without_engine(previous["settings"]) != without_engine(settings):  # where it ran does not change results
        st.caption("Showing the last evaluation; the settings above have changed since. Press **Evaluate** to update.")
    show_results(previous)


page_setup("Faithfulness", keep=("faithfulness_model", "faithfulness-dataset", "explainers-text", "explainers-pair",
                                 "metrics-text", "metrics-pair", "operation-text", "operation-pair", "faithfulness_n",
                                 "faithfulness_seed", "faithfulness_aopc_k", "faithfulness_ray",
                                 "faithfulness_ray_address", "faithfulness_ray_workers", "faithfulness_ray_gpus"))
with guarded("The Faithfulness page failed"):
    main()
