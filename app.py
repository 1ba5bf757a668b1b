"""MaskLens dashboard entry point: ``streamlit run app.py``.

Pages are registered explicitly with ``st.navigation``; ``pages/common.py``
holds shared helpers and is deliberately not a page.
"""

import streamlit as st

st.set_page_config(page_title="MaskLens", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/explain.py", title="Explain", icon=":material/search:"),
    st.Page("pages/dataset_importance.py", title="Dataset importance", icon=":material/bar_chart:"),
    st.Page("pages/faithfulness.py", title="Faithfulness", icon=":material/fact_check:"),
    st.Page("pages/representations.py", title="Representations", icon=":material/scatter_plot:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/sentence_pairs.py", title="Sentence pairs", icon=":material/compare_arrows:"),
]

st.navigation(PAGES).run()
