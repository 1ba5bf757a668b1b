"""Dataset importance page (placeholder until its tools land)."""

from pages.common import coming_soon, guarded

with guarded("The Dataset importance page failed"):
    coming_soon("Dataset importance", "Rank the words that matter most to a mask model across a whole dataset, as a bar chart and a word cloud.")
