"""Explain page (placeholder until its tools land)."""

from pages.common import coming_soon, guarded

with guarded("The Explain page failed"):
    coming_soon("Explain", "Pick a model, type or choose a text, and see its prediction with per-word importance from the model's learned mask and from post-hoc attribution methods.")
