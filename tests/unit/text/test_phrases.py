from wakeforge.generation.text.phrases import (
    as_phrase_list,
    normalize_phrase,
    positive_variants,
    positive_weights,
)


def test_variants_keep_the_words_and_start_with_the_phrase() -> None:
    v = positive_variants("hey jarvis")
    assert v[0] == "hey jarvis"
    assert len(v) == len(set(v)) >= 10
    assert {normalize_phrase(x) for x in v} == {"hey jarvis"}
    assert {"hey, jarvis", "Hey Jarvis!", "hey jarvis?"} <= set(v)


def test_several_phrases_and_weights() -> None:
    v = positive_variants(["ok nabu", "hey nabu"])
    assert {normalize_phrase(x) for x in v} == {"ok nabu", "hey nabu"}
    w = positive_weights(v, ["ok nabu", "hey nabu"])
    assert w[v.index("ok nabu")] > w[v.index("ok nabu?")]


def test_phrase_list_cleans_spacing() -> None:
    assert as_phrase_list("  hey   jarvis ") == ["hey jarvis"]
    assert as_phrase_list(["a", " "]) == ["a"]
