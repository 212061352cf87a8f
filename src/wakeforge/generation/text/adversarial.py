"""Adversarial negatives: phrases that sound close to the wake phrase but are not it.

Sources, all derived from a pronunciation dictionary (CMUdict via ``pronouncing``; espeak-ng G2P
for words it lacks) rather than a hand list:

1. **partial phrases**: every shorter run of the phrase's words ("hey", "jarvis") and the words
   in reverse order;
2. **word neighbours**: one word replaced by a dictionary word at a small phonetic edit
   distance (one or two phone substitutions, one insertion or deletion) or a rhyme
   ("hey travis", "hi jarvis", "hey service");
3. **phoneme edits across word boundaries**: one phone of the whole phrase substituted, deleted
   or inserted, then the phone string re-segmented into dictionary words ("hey jar fuss");
4. the user's ``custom_negative_phrases``.

A candidate is kept only if none of its pronunciations equals one of the phrase's once
unstressed reduced vowels are merged, so homophones ("hay jarvis") and inaudible edits
("hey jarvus") never become negatives. Candidates are ranked closest first.

Example:
    >>> neg = adversarial_phrases("hey jarvis", max_phrases=60)
    >>> len(neg) >= 20, "hey jarvis" in neg, "jarvis" in neg
    (True, False, True)
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from wakeforge.generation.text.phonemes import (
    ALL_PHONES,
    PHONE_CLASS,
    REDUCED_VOWELS,
    Phones,
    cmu_entries,
    g2p_espeak,
    phonetic_distance,
    rhymes,
    strip_stress,
    word_phones,
    word_pronunciations,
    words_of,
)
from wakeforge.generation.text.phrases import as_phrase_list, normalize_phrase

#: Longest dictionary word (in phones) tried when re-segmenting a phone string.
_MAX_WORD_PHONES = 9


@dataclass(frozen=True)
class Candidate:
    """One adversarial phrase and why it was made."""

    text: str
    source: str  # partial | neighbour | resegmented | custom
    distance: float  # phonetic distance to the closest phrase pronunciation


def canonical(phones: Iterable[str]) -> Phones:
    """Stress-free phones with unstressed reduced vowels merged into ``@``.

    Example:
        >>> canonical(("JH", "AA1", "R", "V", "IH0", "S")) == canonical(("JH", "AA1", "R", "V", "AH0", "S"))
        True
    """
    return tuple("@" if p in REDUCED_VOWELS else p.rstrip("012") for p in phones)


def phrase_canon_set(text: str, limit: int = 64) -> set[Phones]:
    """Canonical pronunciations of ``text`` (product of each word's alternates, capped).

    Each word contributes its CMUdict alternates *and* what espeak-ng says for its spelling
    (Piper phonemises with espeak-ng), so a rare word the TTS would read like the phrase is
    caught even where CMUdict lists a different pronunciation.
    """
    results: set[Phones] = {()}
    for w in words_of(text):
        prons = {canonical(p) for p in word_pronunciations(w)}
        g2p = g2p_espeak(w)
        if g2p:
            prons.add(canonical(g2p))
        prons = prons or {(w.upper(),)}
        results = {r + p for r in results for p in prons}
        if len(results) > limit:
            results = set(sorted(results)[:limit])
    return results


def _is_clean_word(word: str) -> bool:
    return word.isalpha() and word.isascii() and len(word) >= 2


@functools.lru_cache(maxsize=1)
def _index() -> tuple[dict[int, tuple[np.ndarray, list[str]]], dict[Phones, str]]:
    """Dictionary words grouped by phone count as int arrays, and phones -> one spelling."""
    # Built once per process from ~135k entries, on the planning path that workers wait for:
    # stress digits are stripped once per distinct pronunciation and the id rows are made per
    # length group in one numpy call.
    phone_id = {p: i for i, p in enumerate(ALL_PHONES)}
    bare_of: dict[Phones, Phones | None] = {}
    by_len: dict[int, tuple[list[Phones], list[str]]] = {}
    pron2word: dict[Phones, str] = {}
    for word, phones in cmu_entries():
        if not _is_clean_word(word):
            continue
        bare = bare_of.get(phones, ())
        if bare == ():
            b = strip_stress(phones)
            bare = bare_of[phones] = b if all(p in phone_id for p in b) else None
        if bare is None:
            continue
        rows, words = by_len.setdefault(len(bare), ([], []))
        rows.append(bare)
        words.append(word)
        old = pron2word.get(bare)
        if old is None or (len(word), word) < (len(old), old):
            pron2word[bare] = word
    arrays = {
        n: (
            np.fromiter(
                (phone_id[p] for row in r for p in row), dtype=np.int16, count=len(r) * n
            ).reshape(len(r), n),
            w,
        )
        for n, (r, w) in by_len.items()
    }
    return arrays, pron2word


def word_neighbours(
    word: str, max_distance: float = 1.0, limit: int = 40
) -> list[tuple[str, float]]:
    """Dictionary words within a small phonetic edit distance of ``word``, closest first.

    Searches same-length words with up to two substitutions (one for words of <= 3 phones) and
    words one phone longer/shorter (one insertion/deletion); adds CMUdict rhymes.

    Example:
        >>> [w for w, _ in word_neighbours("hey")][:3]  # doctest: +SKIP
        ['hay', 'he', 'hi']
    """
    arrays, _ = _index()
    phone_id = {p: i for i, p in enumerate(ALL_PHONES)}
    own = {strip_stress(p) for p in word_pronunciations(word)}
    if not own:
        return []
    found: dict[str, float] = {}
    for pron in own:
        if any(p not in phone_id for p in pron):
            continue
        target = np.asarray([phone_id[p] for p in pron], dtype=np.int16)
        n = len(target)
        hits: set[str] = set()
        if n in arrays:
            rows, words = arrays[n]
            mism = (rows != target).sum(axis=1)
            max_sub = 1 if n <= 3 else 2
            hits.update(words[i] for i in np.nonzero((mism >= 1) & (mism <= max_sub))[0])
        if n + 1 in arrays:  # insertion: deleting one column of a longer word gives the target
            rows, words = arrays[n + 1]
            for j in range(n + 1):
                eq = (np.delete(rows, j, axis=1) == target).all(axis=1)
                hits.update(words[i] for i in np.nonzero(eq)[0])
        if n - 1 in arrays and n > 1:  # deletion
            rows, words = arrays[n - 1]
            for j in range(n):
                eq = (rows == np.delete(target, j)).all(axis=1)
                hits.update(words[i] for i in np.nonzero(eq)[0])
        for w in hits:
            if w == word.lower():
                continue
            d = min(phonetic_distance(pron, strip_stress(p)) for p in word_pronunciations(w))
            if 0 < d <= max_distance * 2 and d < found.get(w, 1e9):
                found[w] = d
    for w in rhymes(word.lower()):
        if _is_clean_word(w) and w not in found:
            found[w] = min(
                phonetic_distance(p1, strip_stress(p2))
                for p1 in own
                for p2 in word_pronunciations(w)
            )
    return sorted(found.items(), key=lambda kv: (kv[1], len(kv[0]), kv[0]))[:limit]


def segment_phones(phones: Sequence[str], max_words: int) -> list[str] | None:
    """Split a stress-free phone string into the fewest dictionary words (>= 2 phones each)."""
    _, pron2word = _index()
    n = len(phones)
    best: list[tuple[int, int] | None] = [None] * (n + 1)  # (n_words, start)
    best[0] = (0, 0)
    for i in range(2, n + 1):
        for j in range(max(0, i - _MAX_WORD_PHONES), i - 1):
            if best[j] is None:
                continue
            if tuple(phones[j:i]) in pron2word:
                cand = (best[j][0] + 1, j)  # type: ignore[index]
                if best[i] is None or cand[0] < best[i][0]:  # type: ignore[index]
                    best[i] = cand
    if best[n] is None or best[n][0] > max_words:  # type: ignore[index]
        return None
    words: list[str] = []
    i = n
    while i > 0:
        _, j = best[i]  # type: ignore[misc]
        words.append(pron2word[tuple(phones[j:i])])
        i = j
    return words[::-1]


def _phone_edits(phones: Phones) -> Iterable[Phones]:
    """Single substitutions (same manner class), deletions and insertions of a phone string."""
    for i, p in enumerate(phones):
        for q in ALL_PHONES:
            if q != p and PHONE_CLASS[q] == PHONE_CLASS[p]:
                yield phones[:i] + (q,) + phones[i + 1 :]
        if len(phones) > 2:
            yield phones[:i] + phones[i + 1 :]
    for i in range(1, len(phones)):
        for q in ("AH", "S", "T", "N", "R", "L"):
            yield phones[:i] + (q,) + phones[i:]


def _tie(seed: int, text: str) -> str:
    return hashlib.sha1(f"{seed}:{text}".encode()).hexdigest()


def adversarial_candidates(
    phrase: str | Sequence[str],
    custom_negative_phrases: Sequence[str] = (),
    *,
    seed: int = 0,
) -> list[Candidate]:
    """All adversarial candidates for one or more phrases, filtered and ranked (closest first)."""
    phrases = as_phrase_list(phrase)
    targets: set[Phones] = set()
    for p in phrases:
        targets |= phrase_canon_set(p)
    target_texts = {normalize_phrase(p) for p in phrases}

    def distance(text: str) -> float | None:
        norm = normalize_phrase(text)
        if not norm or norm in target_texts:
            return None
        cands = phrase_canon_set(norm)
        if cands & targets:
            return None  # homophone or inaudible edit of the phrase
        return min(phonetic_distance(c, t) for c in cands for t in targets)

    out: dict[str, Candidate] = {}

    def add(text: str, source: str) -> None:
        text = " ".join(text.split())
        key = normalize_phrase(text)
        if not key or key in out:
            return
        d = distance(text)
        if d is not None:
            out[key] = Candidate(text, source, d)

    for c in custom_negative_phrases:
        add(str(c), "custom")
    for p in phrases:
        words = normalize_phrase(p).split()
        k = len(words)
        for length in range(k - 1, 0, -1):  # partial phrases
            for start in range(k - length + 1):
                add(" ".join(words[start : start + length]), "partial")
        if k > 1:
            add(" ".join(reversed(words)), "partial")
        neighbours = [word_neighbours(w) for w in words]
        for i, nb in enumerate(neighbours):  # one word replaced
            for w, _ in nb:
                add(" ".join(words[:i] + [w] + words[i + 1 :]), "neighbour")
        if k > 1:  # two words replaced, a few of the closest each
            for i, j in itertools.combinations(range(k), 2):
                for (wi, _), (wj, _) in itertools.product(neighbours[i][:4], neighbours[j][:4]):
                    new = list(words)
                    new[i], new[j] = wi, wj
                    add(" ".join(new), "neighbour")
        full: Phones = tuple(x for w in words for x in strip_stress(word_phones(w)))
        for edited in _phone_edits(full):
            seg = segment_phones(edited, max_words=k + 1)
            if seg:
                add(" ".join(seg), "resegmented")
    priority = {"custom": 0, "partial": 1, "neighbour": 2, "resegmented": 2}
    return sorted(
        out.values(),
        key=lambda c: (priority[c.source], c.distance, _irregular(c.text), _tie(seed, c.text)),
    )


def _irregular(text: str) -> int:
    """Words whose spelling espeak-ng reads differently from CMUdict (rare/foreign words)."""
    n = 0
    for w in words_of(text):
        g2p = g2p_espeak(w)
        if g2p and canonical(g2p) not in {canonical(p) for p in word_pronunciations(w)}:
            n += 1
    return n


def adversarial_phrases(
    phrase: str | Sequence[str],
    custom_negative_phrases: Sequence[str] = (),
    *,
    max_phrases: int = 200,
    seed: int = 0,
    min_distance: float = 0.0,
) -> list[str]:
    """Up to ``max_phrases`` distinct near-miss phrases (custom first, then partials, closest).

    ``min_distance`` leaves out generated candidates closer than that to the phrase (phonetic
    distance of :func:`~wakeforge.generation.text.phonemes.phonetic_distance`: 0.5 is one
    close phone substitution, such as "view gless" or "hue glass" for "view glass"); the user's
    ``custom_negative_phrases`` are always kept.

    Example:
        >>> near = adversarial_phrases("view glass", max_phrases=300)
        >>> far = adversarial_phrases("view glass", max_phrases=300, min_distance=1.0)
        >>> "view gless" in near, "view gless" in far, "glass" in far
        (True, False, True)
    """
    if not math.isfinite(float(min_distance)) or min_distance < 0:
        raise ValueError(f"min_distance must be >= 0, got {min_distance}")
    cands = adversarial_candidates(phrase, custom_negative_phrases, seed=seed)
    custom = [c.text for c in cands if c.source == "custom"]
    rest = [c.text for c in cands if c.source != "custom" and c.distance >= min_distance]
    return custom + rest[: max(0, max_phrases - len(custom))]
