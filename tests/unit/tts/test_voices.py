from wakeforge.generation.tts.base import BaseVoice
from wakeforge.generation.tts.voices import bin_range, settings_grid, split_settings


def _grid():
    voices = [BaseVoice("piper", "joe", "", a) for a in ("en-us", "en-gb-x-rp", "en-029")]
    voices += [BaseVoice("espeak", v, "", "en-us") for v in ("m1", "f2", "klatt")]
    return settings_grid(voices, 3, 3)


def test_split_is_disjoint_per_model_and_deterministic() -> None:
    grid = _grid()
    train, test = split_settings(grid, 0.2, seed=7)
    assert {s.key for s in train}.isdisjoint({s.key for s in test})
    assert len(train) + len(test) == len(grid) == 54
    for model in ("joe",):
        n = sum(1 for s in grid if s.voice.model == model)
        assert sum(1 for s in test if s.voice.model == model) == round(0.2 * n + 0.4)
    assert split_settings(grid, 0.2, seed=7) == (train, test)
    assert split_settings(grid, 0.2, seed=8)[1] != test


def test_tiny_groups_and_zero_fraction() -> None:
    one = settings_grid([BaseVoice("tone", "a")], 1, 1)
    assert split_settings(one, 0.5, 0) == (one, [])
    assert split_settings(_grid(), 0.0, 0)[1] == []


def test_bins() -> None:
    assert bin_range(0.88, 1.14, 2, 1) == (0.88 + 0.13, 1.14)
