"""Checks on a text (or a sentence pair) before it is explained, with messages meant for users."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.data.text import split_words
from core.models.factory import LoadedModel

if TYPE_CHECKING:
    from core.models.pair import LoadedPairModel


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
    words = model.tokenizer.split(text)
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


@dataclass
class PairCheck:
    """What a pair model will see of two texts: kept words per text, an error, and notes."""

    words_a: list[str]
    words_b: list[str]
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def check_pair(model: LoadedPairModel, text_a: str, text_b: str) -> PairCheck:
    """Check two texts for a pair model: either empty or only punctuation, no known word, too long, identical."""
    words = []
    for label, text in (("first", text_a), ("second", text_b)):
        if not isinstance(text, str) or not text.strip():
            return PairCheck([], [], error=f"The {label} text is empty: a pair model needs two texts.")
        split = split_words(text)
        if not split or all(w in {",", "!", "?", "(", ")"} for w in split):
            return PairCheck([], [], error=f"The {label} text has no words (only punctuation or symbols).")
        words.append(split)
    encoded = model.tokenizer.encode_words(words)
    kept = encoded.words
    check = PairCheck(kept[0], kept[1])
    vocab = getattr(model.tokenizer, "vocab", None)
    if vocab is not None:
        for label, ws in (("first", kept[0]), ("second", kept[1])):
            if not any(w in vocab for w in ws):
                check.error = (f"None of the words of the {label} text is in the vocabulary of "
                               f"{model.name or 'this model'} (trained on {model.config.get('dataset', '?')}).")
                return check
    for label, full, part in (("first", words[0], kept[0]), ("second", words[1], kept[1])):
        if len(part) < len(full):
            check.notes.append(f"The {label} text has {len(full)} words; the model reads only the first "
                               f"{len(part)}, so the explanation covers those.")
    if [w for w in words[0]] == [w for w in words[1]]:
        check.notes.append("The two texts are identical: every word has its twin in the other text, so "
                           "explanations split credit between the twins.")
    return check
