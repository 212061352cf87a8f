"""Synthetic test audio: faint noise with planted 1 kHz tones (what the tone head detects)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000
#: Level of the background noise in synthetic files (same as the scorer's padding).
NOISE_STD = 10 ** (-60 / 20)
TONE_HZ = 1000.0
TONE_AMP = 0.25
TONE_S = 1.5


def noise(seconds: float, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, NOISE_STD, int(round(seconds * SR))).astype(np.float32)


def plant_tone(audio: np.ndarray, start_s: float, seconds: float = TONE_S) -> np.ndarray:
    a = int(round(start_s * SR))
    t = np.arange(int(round(seconds * SR))) / SR
    out = audio.copy()
    out[a : a + len(t)] += (TONE_AMP * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
    return out


def write(path: Path, audio: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, SR, subtype="PCM_16")
    return path


def speechlike(seconds: float, rng: np.random.Generator, n_bursts: int = 3,
               first_s: float = 0.5, last_margin_s: float = 1.0) -> np.ndarray:
    """Noise bed with a few amplitude-modulated harmonic bursts (varied, speech-like features).

    Bursts start uniformly between ``first_s`` and ``seconds - last_margin_s``.
    """
    x = noise(seconds, rng) * 30
    t = np.arange(len(x)) / SR
    for start in rng.uniform(first_s, max(seconds - last_margin_s, first_s + 0.1), n_bursts):
        f0 = rng.uniform(100, 250)
        env = np.exp(-0.5 * ((t - start - 0.3) / 0.15) ** 2)
        x += (0.2 * env * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))).astype(
            np.float32)
    return x.astype(np.float32)
