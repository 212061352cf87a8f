import pytest

from wakeforge.generation.text.adversarial import (
    adversarial_candidates,
    adversarial_phrases,
    canonical,
    phrase_canon_set,
    segment_phones,
    word_neighbours,
)
from wakeforge.generation.text.phonemes import ipa_to_arpabet, phonetic_distance, word_phones
from wakeforge.generation.text.phrases import normalize_phrase


@pytest.fixture(scope="module")
def jarvis() -> list[str]:
    return adversarial_phrases("hey jarvis", max_phrases=200, seed=1)


def test_at_least_20_distinct_and_never_the_phrase(jarvis: list[str]) -> None:
    norm = [normalize_phrase(p) for p in jarvis]
    assert len(set(norm)) == len(norm) >= 20
    assert "hey jarvis" not in norm


def test_no_homophones_of_the_phrase(jarvis: list[str]) -> None:
    target = phrase_canon_set("hey jarvis")
    for p in jarvis:
        assert not (phrase_canon_set(p) & target), p
    assert "hay jarvis" not in jarvis  # sounds exactly like the phrase
    assert "hey jarvus" not in jarvis  # only an unstressed vowel differs


def test_partials_and_kinds(jarvis: list[str]) -> None:
    assert {"hey", "jarvis"} <= set(jarvis)
    sources = {c.source for c in adversarial_candidates("hey jarvis")}
    assert {"partial", "neighbour", "resegmented"} <= sources
    # near-misses replace single words with close dictionary words
    assert any(p.startswith("hey ") and p != "hey" for p in jarvis)
    assert any(p.endswith(" jarvis") for p in jarvis)


def test_custom_first_and_cap() -> None:
    out = adversarial_phrases("hey jarvis", ["hey marvin", "hey jarvis"], max_phrases=25)
    assert out[0] == "hey marvin"
    assert "hey jarvis" not in out
    assert len(out) == 25


def test_deterministic() -> None:
    assert adversarial_phrases("ok nabu", seed=3) == adversarial_phrases("ok nabu", seed=3)


def test_word_not_in_cmudict_uses_g2p() -> None:
    assert word_phones("nabu")  # espeak-ng G2P through piper's bridge
    assert len(adversarial_phrases("ok nabu")) >= 20


def test_phonetics_helpers() -> None:
    assert ipa_to_arpabet("hˈeɪ") == ("HH", "EY1")
    assert phonetic_distance(("HH", "EY"), ("HH", "EY")) == 0
    assert phonetic_distance(("P",), ("B",)) == 0.5
    assert phonetic_distance(("P",), ("AA",)) == 1.0
    assert canonical(("AH0", "IH0")) == ("@", "@")
    assert segment_phones(("HH", "EY", "JH", "AA", "R"), max_words=3) is not None
    assert all(w != "hey" for w, _ in word_neighbours("hey"))


def test_min_distance_leaves_out_the_closest_and_keeps_custom() -> None:
    cands = adversarial_candidates("view glass", ["view gless"])
    near = {normalize_phrase(c.text) for c in cands if c.source != "custom" and c.distance < 1.0}
    assert {"hue glass", "view gloss"} <= near         # one close phone substitution each
    out = adversarial_phrases("view glass", ["view gless"], max_phrases=300, min_distance=1.0)
    assert out[0] == "view gless"                     # custom phrases always kept
    assert not ({normalize_phrase(p) for p in out[1:]} & near)
    assert {"glass", "view"} <= set(out)              # partials are far (3-4)
    assert all(c.distance >= 1.0 for c in cands
               if c.source != "custom" and normalize_phrase(c.text) in set(out[1:]))
    assert len(out) < len(adversarial_phrases("view glass", ["view gless"], max_phrases=300))
    with pytest.raises(ValueError, match="min_distance"):
        adversarial_phrases("view glass", min_distance=-0.5)
