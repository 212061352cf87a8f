"""Positive text: the wake phrase as written plus variants a TTS engine reads differently.

Punctuation changes prosody in both Piper (its phonemiser keeps ``,``/``?``/``!`` as pause and
intonation symbols) and espeak-ng (clause intonation), and casing changes how espeak-ng stresses
the first word. Variants never change the words, so every variant is still the phrase.

Example:
    >>> v = positive_variants("hey jarvis")
    >>> v[0], "hey, jarvis" in v, "Hey Jarvis!" in v
    ('hey jarvis', True, True)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_SPACES = re.compile(r"\s+")
#: Sentence endings: statement, call, question, none.
_ENDINGS = ("", ".", "!", "?")


def normalize_phrase(text: str) -> str:
    """Lower-case, single-spaced phrase without punctuation (for equality checks).

    Example:
        >>> normalize_phrase("  Hey,  Jarvis! ")
        'hey jarvis'
    """
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def as_phrase_list(phrase: str | Sequence[str]) -> list[str]:
    """``data.phrase`` may be a string or a list of phrases; always return a list."""
    if isinstance(phrase, str):
        items = [phrase]
    else:
        items = [str(p) for p in phrase]
    return [_SPACES.sub(" ", p).strip() for p in items if str(p).strip()]


def _casings(text: str) -> list[str]:
    words = text.split(" ")
    return [
        text,
        text.lower(),
        " ".join(w[:1].upper() + w[1:] for w in words),  # Hey Jarvis
        text[:1].upper() + text[1:],  # Hey jarvis
    ]


def positive_variants(phrase: str | Sequence[str]) -> list[str]:
    """Distinct spellings of each phrase (as written first), in a fixed order.

    Variants: the phrase as written; lower / title / sentence case; each with no ending, ``.``,
    ``!`` or ``?``; and, for multi-word phrases, a comma after the first word (a short pause).
    """
    out: list[str] = []
    for text in as_phrase_list(phrase):
        bases = [text]
        words = text.split(" ")
        if len(words) > 1:
            bases.append(words[0] + ", " + " ".join(words[1:]))
        for base in bases:
            for cased in _casings(base):
                for end in _ENDINGS:
                    out.append(cased + end)
    return _dedupe(out)


def positive_weights(variants: Sequence[str], phrase: str | Sequence[str]) -> list[float]:
    """Sampling weights: a phrase exactly as written is drawn 4x as often as each variant."""
    exact = set(as_phrase_list(phrase))
    return [4.0 if v in exact else 1.0 for v in variants]


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for it in items:
        if it not in seen:
            seen.add(it)
            out.append(it)
    return out
