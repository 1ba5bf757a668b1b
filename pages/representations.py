"""Representations page (placeholder until its tools land)."""

from pages.common import coming_soon, guarded

with guarded("The Representations page failed"):
    coming_soon("Representations", "Project a model's sentence representations to two dimensions to compare how base and masked models separate the classes.")
