"""The one error explainers raise for input they cannot explain."""


class ExplainError(ValueError):
    """The input cannot be explained (empty text, only punctuation, no known word, bad target or parameter)."""
