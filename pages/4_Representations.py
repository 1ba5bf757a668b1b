"""Representations page: t-SNE of two models' sentence vectors side by side, with measured class separation.

The figures of the VAT (LSTM-ATT vs LSTM-VAT) and E-VarM (E-VarM_MASK vs E-VarM) papers, plus the
numbers behind "less overlap": mean intra/inter-class distance and silhouette in the original space.

A projection not yet on disk shows a progress bar with an estimate; its t-SNE runs in a child
process that is killed when Streamlit stops this script (the user changes a setting, leaves the
page or closes the tab), so no CPU is burnt for a map nobody will see. Projections are cached on
disk by :func:`core.representations.project_model` (by checkpoint weights), so a rerun reads them back.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.common import (cached_model, checkpoint_stamp, data_picker, guarded, models_with_adder, page_setup)

DEFAULT_LEFT = "lstm-att-movie-snippets"  # the VAT paper's Figure 3 pair
DEFAULT_RIGHT = "lstm-vat-movie-snippets"
DEFAULT_N = 300  # t-SNE of 300 points takes ~1.5 s on a CPU core; up to 1000 on request
NUMBER_COLUMNS = ["intra", "inter", "ratio", "silhouette"]


def projection_with_progress(name: str, path: str, n: int, seed: int, perplexity: float, stamp: str = "",
                             dataset: str | None = None) -> dict:
    """The projection of ``n`` seeded test examples as a dict, with a progress bar while it is computed.

    Served from the disk cache (by weights) when it is there; else the bar shows the forward passes and
    the t-SNE's time with an estimate, and a Streamlit stop kills the t-SNE child (see the module docstring).
    """
    from core.data.datasets import load_dataset
    from core.representations import project_model

    bar = st.progress(0.0, text=f"{name}: loading the model…")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"{name}: {message}")

    try:
        projection = project_model(cached_model(name, path, stamp), n=n, seed=seed, perplexity=perplexity,
                                   progress=progress, data=load_dataset(dataset) if dataset else None)
    finally:
        bar.empty()
    return {**projection.to_dict(), "cached": projection.cached}


def default_index(names: list[str], preferred: str, fallback: int) -> int:
    """Index of ``preferred`` in ``names``, else ``fallback`` clipped to the list."""
    return names.index(preferred) if preferred in names else min(fallback, len(names) - 1)


def controls(names: list[str]) -> tuple[list[str], int, int, float]:
    """Model pickers and t-SNE settings; returns (selected names, n, seed, perplexity)."""
    left, right, n_col, seed_col, perp_col = st.columns([3, 3, 2, 1, 1])
    first = left.selectbox("Left model", names, index=default_index(names, DEFAULT_LEFT, 0), key="repr_left")
    second = right.selectbox("Right model", ["(none)"] + names, key="repr_right",
                             index=1 + default_index(names, DEFAULT_RIGHT, 1),
                             help="e.g. base vs VMASK, LSTM-ATT vs LSTM-VAT, E-VarM_MASK vs E-VarM")
    n = n_col.slider("Test examples", 20, 1000, DEFAULT_N, step=10, key="repr_n",
                     help="a seeded random sample of the model's test split (all of it when smaller)")
    seed = seed_col.number_input("Seed", 0, 2**31 - 1, 0, key="repr_seed", help="draws the sample and seeds t-SNE")
    perplexity = perp_col.number_input("Perplexity", 2.0, 100.0, 30.0, step=5.0, key="repr_perplexity",
                                       help="t-SNE perplexity; must be below the number of examples")
    return [first] + ([] if second == "(none)" else [second]), int(n), int(seed), float(perplexity)


def show_projection(record: dict, n: int, seed: int, perplexity: float) -> dict | None:
    """One model's scatter with its separation caption; returns the projection dict (None on failure)."""
    from core.viz.representations import projection_figure, separation_caption

    result = None
    dataset = data_picker(record, f"repr-{record['name']}")
    with guarded(f"Could not project {record['name']}"):
        result = projection_with_progress(record["name"], record["path"], n, seed, perplexity,
                                          checkpoint_stamp(record["path"]), dataset)
        caption = separation_caption(result["separation"])
        title = f"{record['name']} ({record['method']}, {result['dataset']})"
        st.plotly_chart(projection_figure(result["coords"], result["labels"], result["label_names"],
                                          result["texts"], title=title, subtitle=caption),
                        key=f"repr-{record['name']}")
        st.caption(f"{len(result['ids'])} test examples of {result['dataset']}, {result['dim']}-d sentence vectors. "
                   f"{caption}." + (" Served from the cache." if result["cached"] else ""))
    return result


def numbers_table(results: list[dict]) -> pd.DataFrame:
    """One row per model: dataset, n, dimension and the separation numbers."""
    return pd.DataFrame([{"model": r["model"], "dataset": r["dataset"], "n": r["separation"]["n"], "dim": r["dim"],
                          **{k: r["separation"][k] for k in NUMBER_COLUMNS}} for r in results])


def coordinates_csv(results: list[dict]) -> str:
    """The coordinates of every plotted point (model, id, text, gold label, x, y) as CSV."""
    from core.representations import Projection

    fields = [f for f in Projection.__dataclass_fields__ if f != "cached"]
    tables = [Projection(**{f: r[f] for f in fields}).table() for r in results]
    return pd.concat(tables, ignore_index=True).to_csv(index=False)


def main() -> None:
    """Lay out the page."""
    st.title("Sentence representations")
    st.markdown("A t-SNE map of the sentence vectors two models hand to their classifier, on test examples "
                "coloured by gold label (VAT paper Figure 3, E-VarM paper Figure 4). Below each map, the separation "
                "**measured in the original space**: mean Euclidean distance between same-class pairs (intra) and "
                "different-class pairs (inter), and the silhouette score (−1..1; higher = less class overlap).")
    records = models_with_adder("representations")
    by_name = {r["name"]: r for r in records if not r["pair"]}
    if not by_name:
        st.info("No single-text models are available. Train one on the Train page.")
        return
    selected, n, seed, perplexity = controls(list(by_name))
    if perplexity >= n:
        st.warning(f"The perplexity ({perplexity:g}) must be below the number of examples ({n}): lower it or "
                   "raise the number of examples.")
        return
    datasets = {by_name[name]["dataset"] for name in selected}
    if len(datasets) > 1:
        st.info(f"The two models come from different datasets ({', '.join(sorted(datasets))}): each map shows "
                "its own model's test examples, so the numbers compare models, not one sample.")
    results = []
    for column, name in zip(st.columns(len(selected)), selected):
        with column:
            result = show_projection(by_name[name], n, seed, perplexity)
            if result is not None:
                results.append(result)
    if not results:
        return
    st.subheader("Class separation")
    st.dataframe(numbers_table(results), hide_index=True, column_config={
        k: st.column_config.NumberColumn(format="%.4f") for k in NUMBER_COLUMNS})
    st.caption("intra / inter: mean pairwise Euclidean distance between examples of the same / of different gold "
               "classes; ratio = inter / intra; silhouette: scikit-learn's silhouette_score (Euclidean). All in the "
               "model's representation space, not in the t-SNE plane, whose distances t-SNE does not preserve.")
    st.download_button("Coordinates (CSV)", coordinates_csv(results), "tsne-coordinates.csv", "text/csv",
                       key="repr-csv")


page_setup("Representations", keep=("repr_left", "repr_right", "repr_n", "repr_seed", "repr_perplexity"))
with guarded("The Representations page failed"):
    main()
