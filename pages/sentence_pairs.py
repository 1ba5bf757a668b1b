"""Sentence pairs page (placeholder until its tools land)."""

from pages.common import coming_soon, guarded

with guarded("The Sentence pairs page failed"):
    coming_soon("Sentence pairs", "Explain sentence-pair models (e.g. entailment) by showing which words in each sentence the prediction relies on.")
