"""espeak-ng voices, offline, from the PyPI wheel ``espeakng-loader`` (libespeak-ng 1.52 + data).

The library is driven through ``ctypes`` in synchronous mode (audio comes back through a
callback, nothing is played). A base voice is an English accent (``tts.espeak_engine_voices``)
joined with a voice variant from ``espeak-ng-data/voices/!v`` (``tts.espeak_variants``; null:
every bundled variant not in :data:`EXCLUDED_VARIANTS`), e.g. ``en-gb-scotland+f3``.

Prosody mapping: ``length_scale`` sets the rate (175 words/min at 1.0); ``noise_scale`` sets
the intonation range (0.5 -> 30, 1.0 -> 70 on espeak's 0-100 scale). Pitch and formants are
left at the variant's defaults: pseudo-speaker perturbation applies afterwards as for Piper.

When ``espeakng-loader`` is not installed the engine offers no voices and the run logs one
warning line.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wakeforge.generation.tts.base import BaseVoice, EngineUnavailable, Prosody

log = logging.getLogger(__name__)

# espeak_AUDIO_OUTPUT / espeak_PARAMETER / flags from speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_RATE, _ESPEAK_RANGE = 1, 4
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000

#: Variants left out by default: robotic ones, and those whose "hey jarvis" scored below 0.6
#: on openWakeWord's reference hey_jarvis_v0.1 head with pseudo-speaker perturbation applied
#: (``scripts/bench_generate.py score``; the 69 variants kept averaged 0.97).
EXCLUDED_VARIANTS = frozenset(
    {
        # robotic / effects
        "Demonic",
        "UniRobot",
        "anikaRobot",
        "robosoft",
        "robosoft2",
        "robosoft3",
        "robosoft4",
        "robosoft5",
        "robosoft6",
        "robosoft7",
        "robosoft8",
        "Tweaky",
        "edward2",
        # measured low (mean score < 0.6)
        "Alicia",
        "Andrea",
        "AnxiousAndy",
        "Jacky",
        "Marco",
        "RicishayMax",
        "RicishayMax2",
        "RicishayMax3",
        "Storm",
        "anika",
        "antonio",
        "belinda",
        "ed",
        "ian",
        "iven2",
        "kaukovalta",
        "m6",
        "michel",
        "norbert",
        "pedro",
        "travis",
        "whisperf",
    }
)

_LOCK = threading.Lock()
_CALLBACK_TYPE = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


def _loader():  # type: ignore[no-untyped-def]
    try:
        import espeakng_loader
    except ImportError:
        return None
    return espeakng_loader


@functools.lru_cache(maxsize=1)
def available_variants() -> tuple[str, ...]:
    """Voice variants bundled with espeakng-loader (empty when it is not installed)."""
    loader = _loader()
    if loader is None:
        return ()
    folder = Path(loader.get_data_path()) / "voices" / "!v"
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_file()))


class _Lib:
    """Process-wide libespeak-ng handle (the C library has global state)."""

    def __init__(self) -> None:
        loader = _loader()
        if loader is None:
            raise EngineUnavailable("espeakng-loader is not installed; pip install espeakng-loader")
        self.lib = ctypes.CDLL(loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.sample_rate = int(
            self.lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, 0, loader.get_data_path().encode(), 0
            )
        )
        if self.sample_rate <= 0:
            raise EngineUnavailable(f"espeak-ng failed to initialise (code {self.sample_rate})")
        self._chunks: list[np.ndarray] = []
        self._cb = _CALLBACK_TYPE(self._collect)  # keep a reference: the C side holds the pointer
        self.lib.espeak_SetSynthCallback(self._cb)

    def _collect(self, wav, n, events):  # type: ignore[no-untyped-def]
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def close(self) -> None:
        """Terminate and unload this copy of the library (its global state goes with it)."""
        import _ctypes

        self.lib.espeak_Terminate()
        _ctypes.dlclose(self.lib._handle)
        del self.lib

    def speak(self, text: str, voice: str, rate: int, pitch_range: int) -> np.ndarray:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        self.lib.espeak_SetParameter(_ESPEAK_RATE, int(rate), 0)
        self.lib.espeak_SetParameter(_ESPEAK_RANGE, int(pitch_range), 0)
        self._chunks = []
        data = text.encode("utf-8")
        self.lib.espeak_Synth(
            data, len(data) + 1, 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8 | _ENDPAUSE, None, None
        )
        self.lib.espeak_Synchronize()
        if not self._chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._chunks)


def _speak_fresh(text: str, voice: str, rate: int, pitch_range: int) -> tuple[np.ndarray, int]:
    """Speak with a freshly loaded library and unload it afterwards.

    libespeak-ng keeps global state between utterances (pitch flutter phase, noise generator),
    so in a long-lived process a clip would depend on the clips synthesised before it. Loading
    the library per clip (~2 ms) removes that carry-over: a clip's length and waveform follow
    from its own text and settings. It is not bit-exact: some state survives the reload (the
    same call gives one of two waveforms, correlation 0.998), so reruns and shards reproduce
    espeak clips closely but not byte for byte (Piper clips are byte-exact).
    """
    lib = _Lib()
    try:
        return lib.speak(text, voice, rate, pitch_range), lib.sample_rate
    finally:
        lib.close()


class EspeakEngine:
    """espeak-ng accents x variants behind the :class:`~wakeforge.generation.tts.base.Synthesizer` interface."""

    name = "espeak"

    def __init__(self, accents: Sequence[str], variants: Sequence[str] | None = None) -> None:
        self.accents = [str(a) for a in accents]
        self._variants = None if variants is None else [str(v) for v in variants]

    @staticmethod
    def is_available() -> bool:
        return _loader() is not None

    def variants(self) -> list[str]:
        bundled = available_variants()
        if self._variants is None:
            return [v for v in bundled if v not in EXCLUDED_VARIANTS]
        unknown = [v for v in self._variants if v not in bundled]
        if unknown and bundled:
            from wakeforge.core.errors import ConfigError

            raise ConfigError(
                f"tts.espeak_variants: unknown variant(s) {unknown}; choose from espeak-ng-data/voices/!v "
                f"(e.g. {', '.join(bundled[:6])}) or null for all"
            )
        return list(self._variants)

    def base_voices(self) -> list[BaseVoice]:
        if not self.is_available():
            return []
        return [BaseVoice(self.name, v, "", a) for v in self.variants() for a in self.accents]

    def warm_up(self) -> None:
        """Load libespeak-ng and its data once (page cache) so the first clip is not slower."""
        if self.is_available():
            _speak_fresh("a", "en-us", 175, 50)

    def synthesize(
        self, text: str, voice: BaseVoice, prosody: Prosody, seed: int
    ) -> tuple[np.ndarray, int]:
        rate = int(np.clip(round(175.0 / max(prosody.length_scale, 0.2)), 80, 450))
        pitch_range = int(np.clip(round(30 + 80 * (prosody.noise_scale - 0.5)), 0, 100))
        name = f"{voice.accent}+{voice.model}" if voice.model else voice.accent
        with _LOCK:
            pcm, sample_rate = _speak_fresh(text, name, rate, pitch_range)
        return (pcm.astype(np.float32) / 32768.0), sample_rate
