"""Tempo perturbation: the rate of a clip changes, its pitch does not (stage 2, before placement)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wakeforge.augment.dsp import time_stretch
from wakeforge.augment.featurize import ClipFeaturizer

SR = 16000


def _featurizer(p_tempo: float, tempo_factor=(0.8, 1.25)) -> ClipFeaturizer:
    # Only the clip-level perturbations are exercised: no augmenter or extractor is needed.
    f = ClipFeaturizer.__new__(ClipFeaturizer)
    f.p_tempo = p_tempo
    f.tempo_factor = tempo_factor
    return f


def _peak_hz(x: np.ndarray) -> float:
    mid = x[len(x) // 4 : 3 * len(x) // 4]
    spec = np.abs(np.fft.rfft(mid * np.hanning(len(mid))))
    return float(np.argmax(spec) * SR / len(mid))


def _gen(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def test_tempo_changes_length_by_the_drawn_factor_and_keeps_pitch() -> None:
    t = np.arange(SR) / SR
    clip = (0.5 * np.sin(2 * np.pi * 220 * t) * np.hanning(SR)).astype(np.float32)
    out = _featurizer(1.0, (0.7, 1.4)).perturb_tempo([clip] * 40, _gen(0))
    ratios = np.array([SR / len(y) for y in out])          # = the tempo factor drawn
    assert ratios.min() >= 0.7 - 0.01 and ratios.max() <= 1.4 + 0.01
    assert ratios.min() < 0.85 and ratios.max() > 1.2         # the range is used, both ways
    for y in out:
        assert abs(_peak_hz(y) - 220.0) < 6.0                 # pitch kept (speed would move it)
        assert np.all(np.isfinite(y)) and np.abs(y).max() < 1.0
    # the envelope follows the new rate: the loudest moment stays in the middle
    for y in out[:5]:
        env = np.convolve(np.abs(y), np.ones(400) / 400, "same")
        assert abs(np.argmax(env) / len(y) - 0.5) < 0.1


def test_tempo_off_is_identity_and_draws_are_seeded() -> None:
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal(8000).astype(np.float32) * 0.1 for _ in range(6)]
    same = _featurizer(0.0).perturb_tempo(clips, _gen(1))
    assert all(a is b for a, b in zip(same, clips, strict=True))
    a = _featurizer(0.5).perturb_tempo(clips, _gen(7))
    b = _featurizer(0.5).perturb_tempo(clips, _gen(7))
    assert [len(x) for x in a] == [len(x) for x in b]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert any(len(x) != 8000 for x in a) and any(x is c for x, c in zip(a, clips, strict=True))


def test_time_stretch_rows_keep_their_own_ratio() -> None:
    t = np.arange(SR // 2) / SR
    x = torch.from_numpy(np.stack([np.sin(2 * np.pi * f * t) for f in (300.0, 500.0)]).astype(np.float32))
    y = time_stretch(x, torch.tensor([1.5, 0.75]), hop=128)
    assert y.shape[0] == 2 and y.shape[1] >= int(1.5 * SR / 2) - 512
    assert _peak_hz(y[0, : int(0.75 * SR)].numpy()) == pytest.approx(300.0, abs=8)
    short = y[1, : int(0.375 * SR)].numpy()
    assert _peak_hz(short) == pytest.approx(500.0, abs=12)
    # each row's own rate: the 0.75 row's tone reaches its full level within its 0.375 s
    assert np.abs(short[int(0.1 * SR) : int(0.3 * SR)]).max() > 0.5
