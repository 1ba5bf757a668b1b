"""MaskLens dashboard entry point and Home page: ``streamlit run app.py``.

Home says what MaskLens does, where to start, and lists the registered models, the device and the
bundled datasets. The other pages are the scripts in ``pages/`` (Streamlit's multipage
convention); each sets up the same layout and navigation itself (:func:`ui.common.page_setup`).
"""

import pandas as pd
import streamlit as st

from ui.common import guarded, page_setup, registry_listing

MODEL_COLUMNS = ["name", "dataset", "architecture", "method", "test accuracy", "source", "pair"]


def models_table(records: list[dict]) -> pd.DataFrame:
    """The Home page's model table: one row per model, test accuracy as a percentage string. A model
    MaskLens did not train (a registered Hugging Face classifier: its architecture reads the weights
    from the user's source) shows no method, and no dataset but where one is chosen."""
    from core.models.architectures import ARCHITECTURE_SPECS

    def trained_here(record: dict) -> bool:
        spec = ARCHITECTURE_SPECS.get(record["architecture"])
        return spec is None or spec.source_fingerprint is None

    rows = [{
        "name": r["name"], "dataset": r["dataset"] or "(picked on each page)",
        "architecture": r["architecture"], "method": r["method"] if trained_here(r) else "– (not trained here)",
        "test accuracy": "–" if r["test_accuracy"] is None else f"{100 * r['test_accuracy']:.1f}%",
        "source": r["source"], "pair": "yes" if r["pair"] else "no",
    } for r in records]
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)


def datasets_table() -> pd.DataFrame:
    """Bundled datasets with their split sizes (raises when the manifest cannot be read)."""
    from core.data.datasets import dataset_info, list_datasets

    rows = []
    for name in list_datasets():
        info = dataset_info(name)
        counts = info.get("counts", {})
        rows.append({"dataset": name, "task": info.get("task", ""), "labels": ", ".join(info.get("label_names", [])),
                     **{split: counts.get(split) for split in ("train", "dev", "test")},
                     "description": info.get("description", "")})
    return pd.DataFrame(rows)


page_setup("Home")
st.title("MaskLens")
st.markdown(
    "MaskLens explains the predictions of neural text classifiers. Besides post-hoc attribution, it trains "
    "models with **learned word masks** (VMASK, IBA, L2X, E-VarM) or a **compressed attention** (VAT) that learn "
    "which words a prediction may rely on, shows per-word importance for any input, ranks the words that matter "
    "across a whole dataset, explains **sentence-pair** models with word groups (GMASK), and **measures "
    "faithfulness**: how much a prediction changes when the words an explanation points at are removed."
)
st.markdown("**Where to start:** **Explain** a sentence with several methods side by side → check how faithful "
            "they are on many test sentences on **Faithfulness** → see which words a mask model relies on across a "
            "dataset on **Dataset importance** → **Train** your own model, or add your own Hugging Face classifier "
            "from the sidebar of Explain.")

with guarded("Could not list the models"):
    records, problems = registry_listing()
    st.subheader("Available models")
    for problem in problems:
        st.warning(problem)
    if records:
        st.table(models_table(records), hide_index=True)
    else:
        st.info("No models found yet. Train one on the Train page or with the command line.")

with guarded("Could not determine the device"):
    from core.device import describe_device

    st.markdown(f"**Device in use:** `{describe_device()}`")

with guarded("Could not list the bundled datasets"):
    st.subheader("Bundled datasets")
    try:
        table = datasets_table()
    except ImportError as err:
        st.info(f"Dataset support is not available in this build: {err}")
    except ValueError as err:  # core.data.datasets.DatasetError
        st.info(f"No bundled datasets are available: {err}")
    else:
        if table.empty:
            st.info("No bundled datasets are available.")
        else:
            st.table(table, hide_index=True)
