"""A tone "engine" for fast tests: each word becomes a short tone whose pitch depends on the word.

Not speech: only for unit/integration tests of the stage machinery (``tts.engines=[tone]``), so
they run in milliseconds without loading a TTS model.

Example:
    >>> eng = ToneEngine()
    >>> audio, sr = eng.synthesize("hey jarvis", eng.base_voices()[0], Prosody(), seed=1)
    >>> sr, audio.dtype, 0.3 < len(audio) / sr < 1.5
    (22050, dtype('float32'), True)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from wakeforge.generation.tts.base import BaseVoice, Prosody

SAMPLE_RATE_HZ = 22050


class ToneEngine:
    name = "tone"

    def __init__(self, voices: Sequence[str] = ("low", "mid", "high")) -> None:
        self.voices = list(voices)

    def base_voices(self) -> list[BaseVoice]:
        return [BaseVoice(self.name, v, "", "") for v in self.voices]

    def synthesize(
        self, text: str, voice: BaseVoice, prosody: Prosody, seed: int
    ) -> tuple[np.ndarray, int]:
        rng = np.random.default_rng(seed)
        base = {"low": 0.8, "mid": 1.0, "high": 1.25}.get(voice.model, 1.0)
        sr = SAMPLE_RATE_HZ
        parts = [np.zeros(int(0.1 * sr), np.float32)]  # leading silence, trimmed by the stage
        for word in text.lower().split():
            h = int(hashlib.md5(word.encode()).hexdigest()[:6], 16)
            f = base * (300 + h % 700)
            dur = prosody.length_scale * (0.08 + 0.05 * min(len(word), 8))
            t = np.arange(int(dur * sr)) / sr
            env = np.hanning(len(t))
            parts.append((0.5 * env * np.sin(2 * np.pi * f * t)).astype(np.float32))
            parts.append(np.zeros(int(0.05 * sr), np.float32))
        parts.append(np.zeros(int(0.2 * sr), np.float32))
        audio = np.concatenate(parts)
        audio += rng.normal(0, 1e-3 * prosody.noise_scale, audio.shape).astype(np.float32)
        return audio.astype(np.float32), sr
