import numpy as np
import pytest
from scipy.signal import lfilter, resample_poly

from wakeforge.generation.tts.perturb import (
    apply_pseudo_speaker,
    dither_to_int16,
    resample_pitch,
    synth_length_scale,
    trim_silence,
    warp_formants,
)

SR_IN = 22050


def _vowel(f0: float, sr: int = SR_IN, seconds: float = 1.0) -> np.ndarray:
    """A pulse train at ``f0`` through two resonances (700 and 1200 Hz): a crude vowel."""
    n = int(sr * seconds)
    x = np.zeros(n)
    x[:: round(sr / f0)] = 1.0
    for f, bw in ((700.0, 80.0), (1200.0, 100.0)):
        r = np.exp(-np.pi * bw / sr)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / sr), r * r], x)
    x = x + np.random.default_rng(0).normal(0, 1e-4, n)
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def _f0(x: np.ndarray, sr: int = 16000) -> float:
    seg = x[2000:10000].astype(np.float64)
    ac = np.correlate(seg, seg, "full")[len(seg) - 1 :]
    lo, hi = int(sr / 400), int(sr / 60)
    return sr / (lo + int(np.argmax(ac[lo:hi])))


def _centroid(x: np.ndarray, sr: int = 16000) -> float:
    """Spectral centroid within 200-3000 Hz (where the two resonances sit)."""
    seg = x[len(x) // 8 : -len(x) // 8]
    mag = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    f = np.fft.rfftfreq(len(seg), 1 / sr)
    band = (f > 200) & (f < 3000)
    return float((mag[band] * f[band]).sum() / mag[band].sum())


def test_plain_resample_matches_scipy() -> None:
    x = np.random.default_rng(0).normal(size=SR_IN).astype(np.float32)
    np.testing.assert_allclose(resample_pitch(x, SR_IN), resample_poly(x, 320, 441), atol=1e-5)


@pytest.mark.parametrize("semitones", [-3.0, 2.0])
def test_pitch_shifts_f0_and_keeps_formant_position(semitones: float) -> None:
    x = _vowel(120.0)
    y = apply_pseudo_speaker(x, SR_IN, pitch_semitones=semitones, formant_warp=1.0)
    ratio = _f0(y) / _f0(resample_pitch(x, SR_IN))
    assert ratio == pytest.approx(2 ** (semitones / 12), rel=0.03)
    assert len(y) == pytest.approx(16000 / 2 ** (semitones / 12), abs=2)
    # formants stay put (within a few percent) when only the pitch moves
    assert _centroid(y) == pytest.approx(_centroid(resample_pitch(x, SR_IN)), rel=0.05)


def test_formant_warp_moves_envelope_not_pitch() -> None:
    x = resample_pitch(_vowel(110.0), SR_IN)
    up, down = warp_formants(x, 1.14), warp_formants(x, 0.88)
    assert _f0(up) == pytest.approx(_f0(x), rel=0.02)
    assert _centroid(up) > 1.08 * _centroid(x) > 1.08 * 1.05 * _centroid(down)
    assert len(up) == len(x) and up.dtype == np.float32


def test_tempo_and_pitch_compensation() -> None:
    assert synth_length_scale(1.0, 0.0, 1.0) == 1.0
    assert synth_length_scale(1.0, 0.0, 1.25) == pytest.approx(0.8)


def test_trim_keeps_speech_and_drops_silence() -> None:
    tone = _vowel(150.0, sr=16000, seconds=0.5)
    x = np.concatenate([np.zeros(8000, np.float32), tone, np.zeros(16000, np.float32)])
    y = trim_silence(x)
    assert len(tone) <= len(y) <= len(tone) + int(0.08 * 16000)
    assert trim_silence(np.zeros(16000, np.float32)).size == 0


def test_dither_never_gives_digital_silence() -> None:
    pcm = dither_to_int16(np.zeros(4000, np.float32), np.random.default_rng(0))
    assert pcm.dtype == np.int16 and np.count_nonzero(pcm) > 1000 and np.abs(pcm).max() <= 2
