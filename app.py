"""MaskLens dashboard entry point: ``streamlit run app.py``.

Pages are registered explicitly with ``st.navigation``; ``views/common.py``
holds shared helpers and is deliberately not a page. The page scripts live in
``views/``, not ``pages/``: Streamlit treats a ``pages/`` folder as a legacy
multipage app, so a page opened by its URL first thing after the server started
ran without this script (no layout, an automatic sidebar listing every file).
"""

import streamlit as st

from core.threads import apply_thread_policy

st.set_page_config(page_title="MaskLens", layout="wide")

PAGES = [
    st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("views/explain.py", title="Explain", icon=":material/search:"),
    st.Page("views/dataset_importance.py", title="Dataset importance", icon=":material/bar_chart:"),
    st.Page("views/faithfulness.py", title="Faithfulness", icon=":material/fact_check:"),
    st.Page("views/representations.py", title="Representations", icon=":material/scatter_plot:"),
    st.Page("views/train.py", title="Train", icon=":material/model_training:"),
    st.Page("views/sentence_pairs.py", title="Sentence pairs", icon=":material/compare_arrows:"),
    st.Page("views/reproductions.py", title="Reproductions", icon=":material/verified:"),
]

apply_thread_policy()  # every rerun: cheap, and a torch imported since gets it too (core/threads.py)
st.navigation(PAGES).run()
