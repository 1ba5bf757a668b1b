"""Text cleaning and word splitting shared by every model.

The VMASK paper (appendix C) lowercases text, removes extra whitespace and
special characters, and tokenizes into words. We follow the widely used
``clean_str`` of Kim (2014), which the VMASK code base inherits, generalised in
two ways: unicode letters and digits are kept (``café`` stays ``café`` instead
of becoming ``caf``), and curly quotes are folded to ASCII so that ``don’t``
and ``don't`` give the same words. Contractions are split the way GloVe's
tokenizer split them (``don't`` -> ``do n't``), so they find a GloVe vector.

Every model, word-level or wordpiece, sees the same word list for a text; a
wordpiece model tokenizes each of these words further and keeps the alignment.
"""

from __future__ import annotations

import re
import unicodedata

_QUOTE_FOLDS = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'", "\u201c": '"', "\u201d": '"'})
# Anything that is not a unicode letter/digit or one of the kept punctuation marks.
_SPECIAL = re.compile(r"[^\w(),!?'`]|_", flags=re.UNICODE)
_CONTRACTIONS = [
    (re.compile(r"n't\b"), " n't"),
    (re.compile(r"'s\b"), " 's"),
    (re.compile(r"'ve\b"), " 've"),
    (re.compile(r"'re\b"), " 're"),
    (re.compile(r"'d\b"), " 'd"),
    (re.compile(r"'ll\b"), " 'll"),
    (re.compile(r"'m\b"), " 'm"),
]
_CONTRACTION_TOKENS = {"n't", "'s", "'ve", "'re", "'d", "'ll", "'m"}
_PUNCT = re.compile(r"([(),!?])")


def clean_text(text: str) -> str:
    """Lowercase ``text`` and keep only words and the punctuation ``( ) , ! ?``.

    Args:
        text: raw text as a user typed it (any unicode).

    Returns:
        The cleaned text, words separated by single spaces; ``""`` when nothing
        is left (empty input, only emoji or symbols).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_FOLDS).lower()
    text = _SPECIAL.sub(" ", text)
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    text = _PUNCT.sub(r" \1 ", text)
    # Quote marks around a word ('great') are dropped; contraction tokens keep theirs.
    words = (w if w in _CONTRACTION_TOKENS else w.strip("'`") for w in text.split())
    return " ".join(w for w in words if w)


def split_words(text: str) -> list[str]:
    """Clean ``text`` and split it into the words every model explains.

    Returns:
        A list of words (possibly empty), e.g. ``"Don't stop!"`` ->
        ``["do", "n't", "stop", "!"]``.
    """
    cleaned = clean_text(text)
    return cleaned.split(" ") if cleaned else []
