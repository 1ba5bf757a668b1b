"""Train page (placeholder until its tools land)."""

from pages.common import coming_soon, guarded

with guarded("The Train page failed"):
    coming_soon("Train", "Train a CNN, LSTM or MiniLM classifier with a masking method (base, L2, VMASK, IBA, L2X) on a bundled dataset or your own CSV, and follow its progress.")
