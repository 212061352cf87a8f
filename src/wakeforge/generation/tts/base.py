"""The small interface every speech engine implements, and the voice-setting vocabulary.

A **base voice** is what an engine can say things with: a model (Piper voice file, espeak-ng
variant), optionally a speaker of a multi-speaker model and an accent (the espeak-ng language
used for phonemisation). A **voice setting** is a base voice plus a pseudo-speaker bucket
(pitch bin x formant bin, see :mod:`wakeforge.generation.tts.perturb`): the unit that the train/test split
holds out, so test clips come from voices never heard in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True, order=True)
class BaseVoice:
    """One voice of one engine (before pseudo-speaker perturbation)."""

    engine: str
    model: str
    speaker: str = ""  # "" single speaker; "12" speaker id; "3+17@0.40" interpolation
    accent: str = ""  # espeak-ng voice used to phonemise / speak ("en-us", "en-gb-x-rp", ...)

    @property
    def key(self) -> str:
        return ":".join([self.engine, self.model, self.speaker or "-", self.accent or "-"])


@dataclass(frozen=True, order=True)
class VoiceSetting:
    """A base voice with a pseudo-speaker bucket: the unit of the train/test split."""

    voice: BaseVoice
    pitch_bin: int
    formant_bin: int

    @property
    def key(self) -> str:
        return f"{self.voice.key}:p{self.pitch_bin}f{self.formant_bin}"


@dataclass(frozen=True)
class Prosody:
    """Per-clip prosody in Piper's terms; other engines map these onto their own controls.

    Attributes:
        noise_scale: expressiveness / variability (Piper's generator noise).
        length_scale: duration multiplier (> 1 is slower).
        noise_w_scale: phoneme-duration variability.
    """

    noise_scale: float = 0.667
    length_scale: float = 1.0
    noise_w_scale: float = 0.8


@runtime_checkable
class Synthesizer(Protocol):
    """A text-to-speech engine.

    Engines are built cheaply in the main process (``base_voices`` reads only metadata) and
    load their models lazily on the first ``synthesize`` call inside a worker process.
    """

    name: str

    def base_voices(self) -> list[BaseVoice]:
        """Every voice this engine offers with the current settings (may be empty)."""
        ...

    def synthesize(
        self, text: str, voice: BaseVoice, prosody: Prosody, seed: int
    ) -> tuple[np.ndarray, int]:
        """Speak ``text``: returns ``(audio float32 [time] in [-1, 1], sample_rate_hz)``."""
        ...


class EngineUnavailable(RuntimeError):
    """An optional engine cannot run here (package missing); the run skips it with a warning."""
