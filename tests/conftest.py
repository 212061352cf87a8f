"""Shared fixtures: quiet offline W&B, seeded synthetic audio, composed configs."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SR = 16_000


@pytest.fixture(autouse=True)
def _seed() -> None:
    np.random.seed(0)


def tone_burst_clip(rng: np.random.Generator, seconds: float = 2.0, noise_std: float = 0.02) -> np.ndarray:
    """Noise floor with a two-tone chirp pattern ending 0-150 ms before the clip end."""
    n = int(seconds * SR)
    x = rng.normal(0, noise_std, n).astype(np.float32)
    f1, f2 = rng.uniform(700, 900), rng.uniform(1400, 1700)
    dur = int(rng.uniform(0.45, 0.6) * SR)
    end = n - int(rng.uniform(0.0, 0.15) * SR)
    t = np.arange(dur) / SR
    half = dur // 2
    sig = np.concatenate([np.sin(2 * np.pi * f1 * t[:half]), np.sin(2 * np.pi * f2 * t[half:])])
    env = np.hanning(dur) ** 0.3
    x[end - dur : end] += (0.5 * sig * env).astype(np.float32)
    return np.clip(x, -1, 1)


def noise_clip(rng: np.random.Generator, seconds: float = 2.0) -> np.ndarray:
    """Coloured noise bursts at random levels (no tones)."""
    n = int(seconds * SR)
    white = rng.normal(0, 1, n)
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1 / SR)
    spec /= np.maximum(f, 20) ** rng.uniform(0, 1)
    x = np.fft.irfft(spec, n)
    x = x / (np.abs(x).max() + 1e-9) * rng.uniform(0.05, 0.5)
    gate = np.repeat(rng.uniform(0.2, 1.0, n // 1600 + 1), 1600)[:n]
    return np.clip(x * gate + rng.normal(0, 0.02, n), -1, 1).astype(np.float32)


@pytest.fixture
def synthetic_clips():
    return tone_burst_clip, noise_clip
