"""Datasets, text cleaning and tokenizers."""
