"""Figures and HTML for explanations: token heatmaps, curves, word clouds (no streamlit here)."""
