"""Streamlit helpers the pages share (``ui.common``); not a page and never imported by ``core``."""
