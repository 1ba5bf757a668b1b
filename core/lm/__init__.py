"""Likelihood models p(candidate word | text without word i), used by input marginalization and AUC_rep."""
