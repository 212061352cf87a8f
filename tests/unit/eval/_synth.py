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
