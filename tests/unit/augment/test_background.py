from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf

from wakeforge.augment.background import cut_segments, load_background_bank, loop_to_length
from wakeforge.core.errors import ConfigError

SR = 16_000


def _max_zero_run(row: np.ndarray) -> int:
    z = np.concatenate([[0], (row == 0).astype(np.int8), [0]])
    d = np.diff(z)
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return int((ends - starts).max()) if starts.size else 0


def test_generated_bank_without_folders_has_no_digital_silence():
    speech = [
        np.random.default_rng(i).normal(0, 0.1, 8000 + 1000 * i).astype(np.float32)
        for i in range(5)
    ]
    bank = load_background_bank([], extra_clips=speech, seed=0, segment_s=1.0, generated_seconds=24)
    assert bank.shape == (24, SR)
    arr = bank.numpy()
    assert np.isfinite(arr).all() and np.abs(arr).max() <= 1.0
    assert max(_max_zero_run(r) for r in arr) <= 2
    rms_db = 20 * np.log10(np.sqrt((arr**2).mean(axis=1)))
    assert (rms_db > -40).all() and (rms_db < -10).all()
    again = load_background_bank(
        [], extra_clips=speech, seed=0, segment_s=1.0, generated_seconds=24
    )
    assert (again == bank).all()


def test_folders_any_format_bad_files_counted(tmp_path, caplog):
    a = tmp_path / "a"
    (a / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    sf.write(a / "long.wav", rng.normal(0, 0.1, 10 * SR).astype(np.float32), SR)  # 10 s -> 5 x 2 s
    sf.write(a / "sub" / "stereo44k.flac", rng.normal(0, 0.1, (44100, 2)), 44100)  # 1 s, looped
    sf.write(a / "silent.wav", np.zeros(SR, np.float32), SR)
    (a / "corrupt.ogg").write_bytes(b"OggS garbage")
    with caplog.at_level(logging.WARNING):
        bank = load_background_bank([a], [1], seed=0, segment_s=2.0)
    assert bank.shape == (6, 2 * SR)
    assert "skipped 2 of 4 files" in caplog.text
    assert max(_max_zero_run(r) for r in bank.numpy()) <= 2


def test_duplication_rate_and_cap(tmp_path):
    rng = np.random.default_rng(1)
    for name, secs in (("a", 8), ("b", 4)):
        (tmp_path / name).mkdir()
        sf.write(tmp_path / name / "x.wav", rng.normal(0, 0.1, secs * SR).astype(np.float32), SR)
    bank = load_background_bank([tmp_path / "a", tmp_path / "b"], [1, 3], seed=0, segment_s=2.0)
    assert bank.shape[0] == 4 + 2 * 3
    half = load_background_bank([tmp_path / "a", tmp_path / "b"], [0.5, 1], seed=0, segment_s=2.0)
    assert half.shape[0] == 2 + 2
    capped = load_background_bank(
        [tmp_path / "a", tmp_path / "b"], [1, 3], seed=0, segment_s=2.0, max_seconds=10
    )
    assert capped.shape[0] == 5
    with pytest.raises(ConfigError, match="one\nnon-negative|one non-negative"):
        load_background_bank([tmp_path / "a", tmp_path / "b"], [1, 2, 3], segment_s=2.0)


def test_errors_name_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_background_bank([tmp_path / "missing"])
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.wav").write_bytes(b"nope")
    with pytest.raises(ConfigError, match="no usable audio"):
        load_background_bank([tmp_path / "junk"])


def test_cut_and_loop_helpers():
    segs = cut_segments(np.arange(25, dtype=np.float32), 10)
    assert [s[0] for s in segs] == [0, 10, 15]
    looped = loop_to_length(np.ones(100, np.float32), 450, crossfade=10)
    assert looped.shape == (450,) and np.allclose(looped, 1.0)


def test_household_share_adds_impulsive_segments_and_zero_keeps_the_old_bank():
    from wakeforge.augment.config import AugmentationConfig
    from wakeforge.augment.synthetic import finish_segment, generate_segments, household_segment, noise_segment

    rng = np.random.default_rng
    old = generate_segments(12, SR, rng(4))
    assert np.array_equal(generate_segments(12, SR, rng(4), household_share=0.0), old)

    def burstiness(x: np.ndarray) -> float:
        # The loudest 10 ms frames (99th percentile) against the median frame, dB.
        e = 10 * np.log10((x[: len(x) // 160 * 160].reshape(-1, 160) ** 2).mean(axis=1))
        return float(np.percentile(e, 99) - np.median(e))

    hh = [household_segment(2 * SR, rng(i)) for i in range(24)]
    assert all(np.isfinite(x).all() and abs(float(np.sqrt((x**2).mean())) - 1.0) < 1e-3 for x in hh)
    hh_b = [burstiness(finish_segment(x, rng(i))) for i, x in enumerate(hh)]
    noise_b = [burstiness(finish_segment(noise_segment(2 * SR, rng(i)), rng(i))) for i in range(24)]
    # Clinks and knocks over a quiet bed: a quarter of the segments burst above any noise one.
    assert np.percentile(hh_b, 75) > max(noise_b) + 3
    mixed = load_background_bank([], seed=0, segment_s=1.0, generated_seconds=16, household_share=0.5)
    plain = load_background_bank([], seed=0, segment_s=1.0, generated_seconds=16)
    assert mixed.shape == plain.shape and not np.array_equal(mixed.numpy(), plain.numpy())
    for bad in (-0.1, 1.0):
        with pytest.raises(ConfigError, match="background_household_share"):
            AugmentationConfig(background_household_share=bad)
