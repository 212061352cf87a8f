"""General negative speech: many varied short sentences, generated offline.

The words come from the PyPI package ``faker`` (its English word list of ~1000 common words,
person names of several English-speaking locales, streets, cities, companies, jobs, numbers and
dates), arranged by a handful of sentence shapes (plain word runs, requests, questions,
statements with names and places). Nothing needs the network. Each sentence is a pure function
of an integer seed, so the clip planner can derive it from (seed, split, index).

Without ``faker`` installed the source falls back to runs of short CMUdict words (a hard
dependency via ``pronouncing``) and logs one warning; sentences are then less natural.

Example:
    >>> src = SentenceSource(exclude=["hey jarvis"])
    >>> src.sentence(7) == src.sentence(7)
    True
    >>> 1 <= len(src.sentence(7, max_words=4).split()) <= 6
    True
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Sequence

from wakeforge.generation.text.phrases import normalize_phrase

log = logging.getLogger(__name__)

# A few sentence shapes (the only hand-written text); {w} is a common word, {n} a name, etc.
_TEMPLATES: tuple[str, ...] = (
    "{w} {w} {w}",
    "the {w} {w}",
    "{w} the {w}",
    "call {n}",
    "tell {first} about the {w}",
    "is {first} at {city}",
    "turn on the {w}",
    "set a timer for {num} minutes",
    "what about the {w}",
    "{first} said {w} {w}",
    "meet me on {street}",
    "play something by {n}",
    "{company}",
    "I think it is {w}",
    "remind me to {w} the {w}",
    "see you on {day}",
    "{job}",
    "where is {city}",
    "that {w} was {w}",
    "{w} and {w}",
)
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBERS = ("two", "five", "ten", "twelve", "fifteen", "twenty", "thirty", "forty five")


@functools.lru_cache(maxsize=1)
def _faker() -> object | None:
    try:
        from faker import Faker
    except ImportError:
        log.warning(
            "faker is not installed: general negative sentences fall back to CMUdict word runs; "
            "pip install faker for varied sentences"
        )
        return None
    return Faker(["en_US", "en_GB", "en_AU", "en_IN", "en_CA", "en_IE", "en_NZ"])


@functools.lru_cache(maxsize=1)
def _common_words() -> tuple[str, ...]:
    try:
        from faker.providers.lorem.en_US import Provider

        return tuple(w for w in Provider.word_list if w.isalpha())
    except ImportError:
        from wakeforge.generation.text.phonemes import cmu_dict

        return tuple(sorted(w for w in cmu_dict() if w.isalpha() and 3 <= len(w) <= 6))


class SentenceSource:
    """Deterministic generator of short, varied English sentences.

    Args:
        exclude: phrases that must never appear inside a sentence (the wake phrases).
    """

    def __init__(self, exclude: Sequence[str] = ()) -> None:
        self.exclude = tuple(normalize_phrase(e) for e in exclude if normalize_phrase(e))

    def sentence(self, seed: int, max_words: int = 5) -> str:
        """A sentence of at most ``max_words`` words (one more for names/places)."""
        rng = random.Random(seed)
        for _ in range(20):
            text = self._make(rng, max_words)
            norm = f" {normalize_phrase(text)} "
            if text and not any(f" {e} " in norm for e in self.exclude):
                return text
        return rng.choice(_common_words())

    def _make(self, rng: random.Random, max_words: int) -> str:
        words = _common_words()
        fake = _faker()
        if fake is None or rng.random() < 0.35:
            n = rng.randint(min(2, max(1, max_words)), max(1, max_words))
            return " ".join(rng.choice(words) for _ in range(n))
        fake.seed_instance(rng.getrandbits(32))  # type: ignore[attr-defined]
        template = rng.choice(_TEMPLATES)
        fill = {
            "n": lambda: fake.name(),  # type: ignore[attr-defined]
            "first": lambda: fake.first_name(),  # type: ignore[attr-defined]
            "city": lambda: fake.city(),  # type: ignore[attr-defined]
            "street": lambda: fake.street_name(),  # type: ignore[attr-defined]
            "company": lambda: fake.company(),  # type: ignore[attr-defined]
            "job": lambda: fake.job(),  # type: ignore[attr-defined]
            "day": lambda: rng.choice(_DAYS),
            "num": lambda: rng.choice(_NUMBERS),
            "w": lambda: rng.choice(words),
        }
        out = []
        for token in template.split(" "):
            if token.startswith("{") and token.endswith("}"):
                out.append(str(fill[token[1:-1]]()))
            else:
                out.append(token)
        text = " ".join(out)
        toks = text.split()
        if len(toks) > max_words + 1:
            text = " ".join(toks[: max_words + 1])
        return text
