"""Checks on a text before it is explained, with messages meant for users."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.data.text import split_words
from core.models.factory import LoadedModel


@dataclass
class TextCheck:
    """What a model will see of a text.

    Attributes:
        words: all words of the text after cleaning.
        kept: the words that fit the model's length limit.
        unknown: kept words outside a word-level model's vocabulary.
        error: why the text cannot be explained, or None.
        notes: warnings that do not stop the explanation (truncation, unknown words).
    """

    words: list[str]
    kept: list[str]
    unknown: list[str]
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def check_text(model: LoadedModel, text: str) -> TextCheck:
    """Check ``text`` for ``model``: empty, only punctuation, no known word, longer than the limit.

    Returns:
        A :class:`TextCheck`; ``error`` is set when explaining makes no sense.
    """
    if not isinstance(text, str) or not text.strip():
        return TextCheck([], [], [], error="The text is empty: type a sentence to explain.")
    words = split_words(text)
    if not words:
        return TextCheck([], [], [], error="The text has no words after cleaning (only punctuation, symbols or "
                                            "emoji); type a sentence with words.")
    if all(word in {",", "!", "?", "(", ")"} for word in words):
        return TextCheck(words, words, [], error="The text is only punctuation; type a sentence with words.")
    kept = model.tokenizer.encode_words([words]).words[0]
    vocab = getattr(model.tokenizer, "vocab", None)
    unknown = [w for w in kept if vocab is not None and w not in vocab]
    check = TextCheck(words, kept, unknown)
    if vocab is not None and len(unknown) == len(kept):
        check.error = (f"None of the words is in the vocabulary of {model.name or 'this model'} (trained on "
                       f"{model.config.get('dataset', '?')}); every word would be read as unknown.")
    if len(kept) < len(words):
        check.notes.append(f"The text has {len(words)} words; the model reads only the first {len(kept)}, "
                           f"so the explanation covers those.")
    if unknown and check.ok:
        check.notes.append(f"{len(unknown)} word(s) are outside the model's vocabulary and read as unknown: "
                           f"{', '.join(sorted(set(unknown))[:10])}.")
    return check
