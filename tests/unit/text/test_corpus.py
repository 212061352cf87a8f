from wakeforge.generation.text.corpus import SentenceSource
from wakeforge.generation.text.phrases import normalize_phrase


def test_sentences_are_deterministic_varied_and_short() -> None:
    src = SentenceSource(exclude=["hey jarvis"])
    a = [src.sentence(i) for i in range(300)]
    assert a == [SentenceSource(exclude=["hey jarvis"]).sentence(i) for i in range(300)]
    assert len(set(a)) > 270
    assert all(1 <= len(s.split()) <= 6 for s in a)
    assert all("hey jarvis" not in normalize_phrase(s) for s in a)
    assert len({w for s in a for w in normalize_phrase(s).split()}) > 400


def test_max_words_is_respected_for_word_runs() -> None:
    src = SentenceSource()
    assert all(len(src.sentence(i, max_words=1).split()) <= 2 for i in range(50))
