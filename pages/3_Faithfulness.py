"""Faithfulness page: which explanation method is most faithful to a model, on n test sentences.

Runs :func:`core.evaluation.evaluate` (with its on-disk store, so a repeated evaluation is
instant) and draws AOPC vs k, post-hoc accuracy vs k, the MoRF/LeRF degradation curves, the
AUC_rep curves and ERASER comprehensiveness / sufficiency per threshold, one colour per explainer,
with a summary table and exports.

While it runs, a progress bar counts the explanations and estimates the time they still need
(the mean seconds of those computed in this run; stored ones are instant and left out; the
metrics' time is not estimated). **Cancel** (as Stop in the toolbar, a changed widget or a closed
tab) stops the run at the next bar update, that is between two explanations: Streamlit raises
from that ``st.*`` call (see :mod:`pages/1_Explain.py`), the store writes what was explained on the way
out, and pressing **Evaluate** again resumes from there.
"""

from __future__ import annotations

import json

import streamlit as st

from core.evaluation.common import DELETION_LABELS, HIGHER_IS_BETTER, METRIC_LABELS
from ui.common import (data_picker, guarded, hf_model_adder, page_setup, progress_bar, registry_listing)

DEFAULT_MODEL = "cnn-vmask-movie-snippets"
DEFAULT_EXPLAINERS = ("vmask", "zero", "lime")
PAIR_DEFAULT_EXPLAINERS = ("zero", "lime")  # GMASK/IMASK take seconds a pair
RESULTS_KEY = "faithfulness_results"
CANCELLED_KEY = "faithfulness_cancelled"


def controls(models: list[str], pair_models: set[str], records: dict[str, dict]) -> dict:
    """The evaluation settings chosen in the page's widgets (pair models get the pair explainers and metrics)."""
    from core.evaluation.pairs import PAIR_METRICS
    from core.evaluation.runner import DELETIONS, METRICS
    from core.explain.registry import explainers_for
    from core.metrics.pairs import PAIR_OPERATIONS

    columns = st.columns([2, 3, 2])
    model = columns[0].selectbox("Model", models, index=models.index(DEFAULT_MODEL) if DEFAULT_MODEL in models else 0)
    pair = model in pair_models
    dataset = data_picker(records[model], "faithfulness", columns[0])
    names = list(explainers_for("pair" if pair else "text"))
    defaults = PAIR_DEFAULT_EXPLAINERS if pair else DEFAULT_EXPLAINERS
    explainers = columns[1].multiselect("Explainers", names, default=[e for e in defaults if e in names],
                                        key=f"explainers-{'pair' if pair else 'text'}",
                                        help="vmask and global need a mask model; marginal takes ~0.2 s a "
                                             "sentence on a laptop CPU, lime ~0.05 s, the others milliseconds; "
                                             "for pairs GMASK ~2 s a pair with DAttn.")
    metric_names = list(PAIR_METRICS if pair else METRICS)
    metrics = columns[2].multiselect("Metrics", metric_names, default=metric_names,
                                     key=f"metrics-{'pair' if pair else 'text'}",
                                     format_func=lambda m: METRIC_LABELS.get(m, m))
    row = st.columns(4)
    n = row[0].number_input("Test examples (n)", min_value=1, max_value=5000, value=100, step=50)
    seed = row[1].number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1)
    operation = row[2].selectbox("Deletion (AOPC, degradation)", list(PAIR_OPERATIONS if pair else DELETIONS),
                                 format_func=DELETION_LABELS.get, key=f"operation-{'pair' if pair else 'text'}",
                                 help="Pair models: words are removed from either text.")
    aopc_k = row[3].number_input("AOPC K", min_value=1, max_value=50, value=10, step=1,
                                 help="The VMASK paper's Table 4 uses 5, GMASK 10.")
    return {"model": model, "explainers": tuple(explainers), "metrics": tuple(metrics), "n": int(n),
            "seed": int(seed), "operation": operation, "aopc_k": int(aopc_k), "dataset": dataset}


def progress_text(progress) -> str:
    """The bar's text: ``"<stage>: done/total explanations · about N s left"`` (no estimate once all are done)."""
    left = f" · {progress.describe()}" if progress.done < progress.total else ""
    return f"{progress.stage or 'starting'}: {progress.done}/{progress.total} explanations{left}"


def mark_cancelled() -> None:
    """The Cancel button's callback (run at the start of the next run): say so on that run's page."""
    st.session_state[CANCELLED_KEY] = True


def run_evaluation(settings: dict) -> list[dict]:
    """Evaluate with a progress bar and a Cancel button; the records are kept in the session for these settings."""
    from core.data.datasets import load_dataset
    from core.evaluation import evaluate

    data = load_dataset(settings["dataset"]) if settings.get("dataset") else None
    cancel = st.empty()
    cancel.button("Cancel", key="faithfulness_cancel", on_click=mark_cancelled,
                  help="Stops after the explanation under way; those done stay in the store, so Evaluate resumes.")
    with progress_bar(0, progress_text) as progress:
        records = evaluate(settings["model"], explainers=settings["explainers"], metrics=settings["metrics"],
                           n=settings["n"], seed=settings["seed"], operation=settings["operation"],
                           aopc_k=settings["aopc_k"], progress=False, on_progress=progress, data=data)
    cancel.empty()
    st.session_state[RESULTS_KEY] = {"settings": settings, "records": records}
    return records


def show_results(settings: dict, records: list[dict]) -> None:
    """Summary table, the four figures in a grid and the exports."""
    from core.viz.faithfulness import (
        ERASER_METRICS,
        aopc_figure,
        auc_rep_figure,
        curve_points,
        degradation_figure,
        eraser_figure,
        posthoc_figure,
        summary_table,
    )

    for record in records:
        if record.get("skipped"):
            st.caption(f"Skipped **{record['explainer']}**: {record['skipped']}")
        elif record.get("errors"):
            st.caption(f"**{record['explainer']}** could not explain {len(record['errors'])} sentence(s) "
                       f"(e.g. no word the model knows); they are left out of its numbers.")
    table = summary_table(records)
    st.subheader("Summary")
    st.dataframe(table, hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="%.4f") for c in table.columns if c not in ("explainer", "n", "skipped")})
    better = {flag: ", ".join(METRIC_LABELS[m] for m, up in HIGHER_IS_BETTER.items() if up is flag)
              for flag in (True, False)}
    st.caption(f"{better[True]}: higher is better. {better[False]}: lower is better. "
               "Deletion: " + DELETION_LABELS[settings["operation"]] + ".")
    metrics = set(settings["metrics"])
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
    downloads = st.columns(2 + len(figures))
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
    hf_model_adder("faithfulness")
    records, problems = registry_listing()
    for problem in problems:
        st.caption(problem)
    models = [r["name"] for r in records]
    if not models:
        st.info("No model is available. Train one on the Train page.")
        return
    settings = controls(models, {r["name"] for r in records if r.get("pair")}, {r["name"]: r for r in records})
    if not settings["explainers"] or not settings["metrics"]:
        st.info("Choose at least one explainer and one metric.")
        return
    previous = st.session_state.get(RESULTS_KEY)
    if st.session_state.pop(CANCELLED_KEY, False):
        st.warning("Evaluation cancelled. The explanations computed so far are kept in the store: press "
                   "**Evaluate** to resume from there.")
    if st.button("Evaluate", type="primary"):
        with guarded("The evaluation failed"):
            previous = {"settings": settings, "records": run_evaluation(settings)}
    if not previous:
        st.info("Press **Evaluate**. Settings evaluated before are served from the store at once.")
        return
    if previous["settings"] != settings:
        st.caption("Showing the last evaluation; the settings above have changed since. Press **Evaluate** to update.")
    show_results(previous["settings"], previous["records"])


page_setup("Faithfulness")
with guarded("The Faithfulness page failed"):
    main()
