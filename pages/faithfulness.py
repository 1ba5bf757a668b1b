"""Faithfulness page (placeholder until its tools land)."""

from pages.common import coming_soon, guarded

with guarded("The Faithfulness page failed"):
    coming_soon("Faithfulness", "Measure how faithful each explanation is by deleting the words it ranks highest and tracking how the prediction changes (AOPC and related curves).")
