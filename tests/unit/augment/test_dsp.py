from __future__ import annotations

import math

import pytest
import torch

from wakeforge.augment import dsp


def _peak_hz(x: torch.Tensor, sr: int = 16000) -> float:
    spec = torch.fft.rfft(x).abs()
    return float(torch.argmax(spec)) * sr / x.numel()


@pytest.mark.parametrize("semitones", [-3.0, 2.0, 3.0])
def test_pitch_shift_moves_frequency_not_timing(semitones):
    t = torch.arange(32000) / 16000
    x = torch.sin(2 * math.pi * 440 * t)
    x[:8000] = 0.0
    x[24000:] = 0.0
    y = dsp.pitch_shift(x[None], torch.tensor([semitones]), 16000)[0]
    assert abs(_peak_hz(y) - 440 * 2 ** (semitones / 12)) < 3.0
    active = (y.abs() > 0.3).nonzero()
    # Edges smear by up to one STFT hop (16 ms); nothing like the 0-200 ms placement jitter.
    assert abs(int(active.min()) - 8000) < 320 and abs(int(active.max()) - 24000) < 320


def test_fft_convolve_delta_is_identity():
    x = torch.randn(3, 1000)
    k = torch.zeros(3, 64)
    k[:, 5] = 1.0
    assert torch.allclose(dsp.fft_convolve(x, k, onset=5), x, atol=1e-5)


def test_active_power_ignores_padding():
    x = torch.full((1, 32000), 1e-4)
    x[0, 9600:19200] = 0.5  # whole 20 ms frames
    assert abs(float(dsp.active_power(x)) - 0.25) < 1e-3
    assert float(dsp.power(x)) < 0.1


def test_colored_noise_slopes():
    g = torch.Generator().manual_seed(0)
    n = dsp.colored_noise(2, 32000, torch.tensor([0.0, 2.0]), g, torch.device("cpu"))
    assert torch.allclose(dsp.power(n), torch.ones(2), atol=1e-3)
    spec = torch.fft.rfft(n).abs().pow(2)
    low, high = spec[:, 100:400].mean(dim=1), spec[:, 8000:12000].mean(dim=1)
    assert float(low[0] / high[0]) < 2.0  # white: flat
    assert float(low[1] / high[1]) > 100.0  # brown: steep


def test_filter_response_shapes():
    f = torch.tensor([50.0, 1000.0, 7000.0])
    kind = torch.tensor([0, 1, 2, 3])
    lo = torch.tensor([0.0, 300.0, 500.0, 500.0]).clamp(min=1.0)
    hi = torch.tensor([2000.0, 8000.0, 3000.0, 3000.0])
    r = dsp.filter_response(f, kind, lo, hi)
    assert r[0, 0] > 0.99 and r[0, 2] < 0.01  # low-pass
    assert r[1, 0] < 0.01 and r[1, 1] > 0.99  # high-pass
    assert r[2, 1] > 0.9 and r[2, 0] < 0.01 and r[2, 2] < 0.05  # band-pass (24 dB/octave)
    assert r[3, 1] < 0.1 and r[3, 0] > 0.99  # band-stop


def test_eq_response_peaks_at_band():
    f = torch.tensor([100.0, 1600.0])
    gains = torch.zeros(1, 7)
    gains[0, 4] = 6.0  # 1600 Hz band
    r = dsp.eq_response(f, gains, torch.tensor([100.0, 200, 400, 800, 1600, 3200, 6400]))
    assert abs(float(r[0, 1]) - 10 ** (6 / 20)) < 1e-3 and abs(float(r[0, 0]) - 1.0) < 1e-3


def test_tanh_distortion_keeps_rms():
    x = torch.randn(2, 4000) * 0.1
    y = dsp.tanh_distortion(x, torch.tensor([0.0, 20.0]))
    assert torch.allclose(dsp.power(y), dsp.power(x), rtol=1e-4)


def test_hard_clip_reaches_full_scale_and_flattens_peaks():
    x = torch.randn(3, 8000) * 0.05
    y = dsp.hard_clip(x, torch.tensor([0.0, 6.0, 15.0]))
    assert float(y.abs().max()) <= 1.0
    assert torch.allclose(y.abs().amax(dim=-1), torch.ones(3))  # every row at full scale
    assert torch.allclose(y[0], x[0] / x[0].abs().max())  # 0 dB drive: peak-normalised only
    clipped = (y.abs() >= 1.0).float().mean(dim=-1)
    assert clipped[0] < clipped[1] < clipped[2] and clipped[2] > 0.01
    level = dsp.power(y)
    assert level[2] > level[1] > level[0] > dsp.power(x)[0]  # level is not restored


def test_fft_size_is_smooth():
    for n in (47999, 32000, 33025):
        m = dsp._fft_size(n)
        assert m >= n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        assert m == 1
