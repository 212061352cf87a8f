"""Seeded synthetic test audio for the feature tests (never committed as files)."""

from __future__ import annotations

import numpy as np

SR = 16_000


def speech_like(rng: np.random.Generator, n: int) -> np.ndarray:
    """Voiced-speech stand-in: gliding harmonic source, two moving formants, syllable rhythm.

    Returns:
        ``[n]`` float64, peak 1.
    """
    t = np.arange(n) / SR
    f0 = rng.uniform(90, 220) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    f1 = rng.uniform(400, 800) + 200 * np.sin(2 * np.pi * 1.7 * t)
    f2 = rng.uniform(1200, 2200) + 400 * np.sin(2 * np.pi * 1.1 * t + 1)
    x = np.zeros(n)
    for k in range(1, 30):
        fk = k * f0
        gain = np.exp(-(((fk - f1) / 150) ** 2)) + 0.6 * np.exp(-(((fk - f2) / 250) ** 2)) + 0.02
        x += gain * np.sin(k * phase) * (fk < SR / 2)
    syllables = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, 6)), 0, None)
    x = x * syllables**1.5 + 0.05 * rng.normal(0, 1, n) * syllables  # plus fricative noise
    return x / np.abs(x).max()


def noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """White-to-pink noise, peak 1."""
    spec = np.fft.rfft(rng.normal(0, 1, n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec /= np.maximum(f, 30) ** rng.uniform(0, 0.5)
    x = np.fft.irfft(spec, n)
    return x / np.abs(x).max()


def chirp(rng: np.random.Generator, n: int, noise_floor: float = 1e-2) -> np.ndarray:
    """Linear chirp 100 Hz -> 6 kHz over a white noise floor (std relative to the tone), peak ~1.

    With ``noise_floor <= 1e-3`` the spectrum spans the mel model's whole 80 dB range, the
    worst case for float32 agreement between implementations (see test_torch_extractor).
    """
    t = np.arange(n) / SR
    dur = n / SR
    x = np.sin(2 * np.pi * (100 * t + (6000 - 100) / (2 * dur) * t**2))
    return x + noise_floor * rng.normal(0, 1, n)


def make_clips(n_clips: int = 12, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Mixed batch of speech-like, noise and chirp clips at peak levels from -60 to -1 dBFS.

    Returns:
        ``[n_clips, seconds * 16000]`` float32 in [-1, 1].
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    kinds = (speech_like, noise, chirp)
    levels_db = np.linspace(-60, -1, n_clips)
    rng.shuffle(levels_db)
    clips = [kinds[i % 3](rng, n) * 10 ** (levels_db[i] / 20) for i in range(n_clips)]
    return np.clip(np.stack(clips), -1, 1).astype(np.float32)


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)
