"""Dataset importance page: which words a mask model relies on across its whole training set.

Word clouds of the global importance (VMASK Figure 3), frequency against importance (Figure 2,
appendix F) and a searchable table with each word's most associated class.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.viz.importance import CLOUD_MIN_COUNT
from ui.common import guarded, page_setup, registry_listing

MASK_METHODS = ("vmask", "iba", "l2x", "evarm", "evarm_mask")
DEFAULT_MODEL = "cnn-vmask-movie-snippets"
DEFAULT_COMPARE = "cnn-iba-movie-snippets"
NONE = "(none)"
TABLE_COLUMNS = ["word", "frequency", "importance", "class", "log_odds"]


@st.cache_data(show_spinner=False, max_entries=32)
def cached_global_importance(name: str, path: str) -> dict | None:
    """The checkpoint's ``global_importance`` (words, scores, counts) plus its dataset, or None."""
    from core.checkpoints import read_config

    config = read_config(path)
    importance = config.get("global_importance")
    if not importance or not importance.get("words"):
        return None
    return {"words": list(importance["words"]), "scores": [float(s) for s in importance["scores"]],
            "counts": [int(c) for c in importance["counts"]], "dataset": config.get("dataset", ""),
            "method": config.get("method", "")}


@st.cache_data(show_spinner="Drawing the word cloud…", max_entries=64)
def cached_cloud(name: str, path: str, top_k: int, min_count: int) -> bytes:
    """PNG word cloud of the model's ``top_k`` most important words seen at least ``min_count`` times."""
    from core.metrics.importance import frequent_words
    from core.viz.importance import word_cloud_png

    importance = cached_global_importance(name, path)
    words, scores = frequent_words(importance["words"], importance["scores"], importance["counts"], min_count)
    return word_cloud_png(words, scores, top_k=top_k, seed=0)


@st.cache_data(show_spinner="Computing frequency vs importance…", max_entries=32)
def cached_frequency_importance(name: str, path: str) -> tuple[float, float, pd.DataFrame]:
    """(Pearson r, p-value, table) of frequency against importance for the model."""
    from core.metrics.importance import frequency_importance

    importance = cached_global_importance(name, path)
    result = frequency_importance(importance["words"], importance["scores"], importance["counts"])
    return result.pearson_r, result.p_value, result.table


@st.cache_data(show_spinner="Counting words per class…", max_entries=8)
def cached_association(dataset: str) -> pd.DataFrame:
    """Word-class association over the dataset's training split (raises if it cannot be loaded)."""
    from core.data.datasets import load_dataset
    from core.metrics.association import class_association

    data = load_dataset(dataset)
    return class_association(data.train.texts, data.train.labels, data.label_names)


def mask_models() -> tuple[dict[str, dict], list[str]]:
    """Registry records of mask models whose checkpoint has a global importance, and skipped notes."""
    records, problems = registry_listing()
    models, notes = {}, list(problems)
    for record in records:
        if record["pair"] or record["method"] not in MASK_METHODS:
            continue
        try:
            importance = cached_global_importance(record["name"], record["path"])
        except Exception as err:  # noqa: BLE001 - an unreadable checkpoint is only left out
            notes.append(f"{record['name']}: {err}")
            continue
        if importance is None:
            notes.append(f"{record['name']} has no global importance in its checkpoint.")
        else:
            models[record["name"]] = record
    return models, notes


def show_clouds(models: dict[str, dict], names: list[str], top_k: int, min_count: int) -> None:
    """Word clouds side by side, each with a PNG download."""
    columns = st.columns(len(names))
    for column, name in zip(columns, names):
        with column, guarded(f"Could not draw the word cloud of {name}"):
            record = models[name]
            st.markdown(f"**{name}** ({record['method'].upper()}, {record['dataset']})")
            png = cached_cloud(name, record["path"], top_k, min_count)
            st.image(png, width="stretch")
            st.download_button("Word cloud (PNG)", png, f"{name}-wordcloud.png", "image/png", key=f"png-{name}")


def word_table(fi_table: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Frequency and importance joined with the class association (empty columns when unavailable)."""
    table = fi_table.copy()
    try:
        association = cached_association(dataset)
    except Exception as err:  # noqa: BLE001 - e.g. a user CSV dataset that is not bundled
        st.info(f"The word-class association is unavailable: the training data of {dataset!r} could not "
                f"be loaded ({err}).")
        table["class"], table["log_odds"] = None, float("nan")
    else:
        table = table.merge(association[["word", "class", "log_odds"]], on="word", how="left")
    return table[TABLE_COLUMNS]


def show_scatter_and_table(name: str, record: dict, top_k_marked: int) -> None:
    """Frequency vs importance scatter, Pearson r and the searchable word table with CSV download."""
    from core.viz.importance import frequency_importance_figure

    r, p, fi_table = cached_frequency_importance(name, record["path"])
    st.subheader("Frequency vs importance")
    st.plotly_chart(frequency_importance_figure(fi_table, top_k=top_k_marked, title=name, pearson_r=r),
                    key=f"scatter-{name}")
    st.markdown(f"**Pearson r** between word frequency and importance: **{r:.3f}** "
                f"(p = {p:.2g}, {len(fi_table)} words)")
    st.caption("VMASK (appendix F, Table 11) reports r between -0.08 and 0.03: the learned importance "
               "is nearly uncorrelated with frequency, i.e. the mask does not just pick frequent words.")

    st.subheader("Words")
    table = word_table(fi_table, record["dataset"])
    query = st.text_input("Filter words", placeholder="substring, e.g. good", key="importance_filter")
    shown = table[table["word"].str.contains(query.strip(), case=False, regex=False)] if query.strip() else table
    st.caption(f"{len(shown)} of {len(table)} words. Click a column header to sort. "
               "log_odds: add-one smoothed log-odds ratio of the word for its class against the other classes "
               "in the training split.")
    st.dataframe(shown, hide_index=True, column_config={
        "importance": st.column_config.NumberColumn(format="%.4f"),
        "log_odds": st.column_config.NumberColumn(format="%.3f")})
    st.download_button("Table (CSV)", shown.to_csv(index=False), f"{name}-word-importance.csv", "text/csv",
                       key=f"csv-{name}")


def main() -> None:
    """Lay out the page."""
    st.title("Dataset-level word importance")
    st.markdown("The global importance a mask model (VMASK, IBA, L2X, E-VarM) gives each word, averaged over the "
                "training set: the VMASK paper's word clouds (Figure 3) and frequency plot (Figure 2). "
                "E-VarM's gate reads the context, so its value is the mean over each word's training occurrences.")
    models, notes = mask_models()
    for note in notes:
        st.caption(note)
    if not models:
        st.info("No mask model (VMASK, IBA, L2X or E-VarM) with a global importance is available. "
                "Train one with method vmask, iba, l2x or evarm on the Train page.")
        return
    names = list(models)
    controls = st.columns(4)
    model_name = controls[0].selectbox("Mask model", names, key="importance_model",
                                       index=names.index(DEFAULT_MODEL) if DEFAULT_MODEL in names else 0)
    others = [NONE] + [n for n in names if n != model_name]
    compare = controls[1].selectbox("Compare with", others, key="importance_compare",
                                    index=others.index(DEFAULT_COMPARE) if DEFAULT_COMPARE in others else 0,
                                    help="VMASK Figure 3 compares VMASK and IBA word clouds")
    top_k = controls[2].slider("Words in the cloud", 10, 300, 100, step=10, key="importance_top_k")
    min_count = controls[3].number_input("Minimum training count", 1, 1000, CLOUD_MIN_COUNT, key="imp_min_count",
                                         help=f"Only words seen at least this often in training go in the clouds. "
                                              f"Default {CLOUD_MIN_COUNT}: the shipped CNN-VMASK cloud is then led by "
                                              "task words (enjoyable, engrossing, tedious, boring, dull); with 5 by "
                                              "weather words (sloppy, choppy, monsoon), with 1 by words seen once "
                                              "(a word model's mask reads only the embedding, so a rare word is "
                                              "scored like its GloVe neighbours).")
    selected = [model_name] + ([] if compare == NONE else [compare])
    show_clouds(models, selected, top_k, int(min_count))
    with guarded(f"Could not compare frequency and importance for {model_name}"):
        show_scatter_and_table(model_name, models[model_name], top_k_marked=10)


page_setup("Dataset importance", keep=("importance_model", "importance_compare", "importance_top_k", "imp_min_count",
                                       "importance_filter"))
with guarded("The Dataset importance page failed"):
    main()
