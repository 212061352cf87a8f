"""Stage 1's settings: :class:`GenerateSettings` (built from the Hydra config) and its checks.

Also the small parsers it needs (:func:`parse_shard`, :func:`resolve_workers`) and the
default accent lists. Imported by the runner, the clip planner and the preflight checks; it
imports no other part of stage 1.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wakeforge.core.errors import ConfigError

KNOWN_ENGINES = ("piper", "espeak", "kokoro", "tone")
#: Defaults (same as conf/tts/default.yaml): espeak-ng voices for Piper's phonemiser, and the
#: English accents of the espeak-ng engine.
PIPER_ACCENTS = ("en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbcwmd")
ESPEAK_ACCENTS = (
    "en-us",
    "en-us-nyc",
    "en",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
)
#: Default espeak-ng languages the kokoro engine phonemises with.
KOKORO_ACCENTS = ("en-us", "en-gb-x-rp")


@dataclass(kw_only=True)
class GenerateSettings:
    """Everything stage 1 needs (typed; :meth:`from_config` builds it from the Hydra config)."""

    phrases: list[str]
    """Wake phrases (``data.phrase``)."""
    work_dir: Path
    """``{output_dir}/{model_name}``; splits are written below it."""
    seed: int = 12345
    n_samples: int = 2000
    n_samples_val: int = 300
    n_negative: int = 8000
    n_negative_val: int = 1000
    custom_negative_phrases: list[str] = field(default_factory=list)
    adversarial_fraction: float = 0.15
    max_adversarial_phrases: int = 200
    min_adversarial_distance: float = 0.0
    positive_paths: list[str] = field(default_factory=list)
    min_clip_duration_s: float = 0.3
    max_clip_duration_s: float = 1.9
    engines: list[str] = field(default_factory=lambda: ["piper", "espeak", "kokoro"])
    engine_weights: dict[str, float] = field(
        default_factory=lambda: {"piper": 0.7, "espeak": 0.3, "kokoro": 0.0}
    )
    general_engine_weights: dict[str, float] | None = field(
        default_factory=lambda: {"piper": 0.3, "espeak": 0.7, "kokoro": 0.0}
    )
    #: Engine mix for the wake phrase's own clips (None: engine_weights): a slow engine with
    #: real-sounding voices can speak the few positives without slowing thousands of negatives.
    positive_engine_weights: dict[str, float] | None = None  # conf/tts/default.yaml sets the mix
    piper_voices: list[str] = field(default_factory=list)
    speaker_ids: list[int] | None = None
    speaker_mixes: int = 0
    noise_scale: tuple[float, float] = (0.5, 1.0)
    length_scale: tuple[float, float] = (0.75, 1.3)
    #: Length scale of the wake phrase's own clips (None: length_scale). People say a wake
    #: word more slowly than a sentence: measured on 411 real "computer" recordings, 0.62 s of
    #: active speech (median) against 0.48 s for the synthetic clips at length_scale 0.75-1.3.
    positive_length_scale: tuple[float, float] | None = None  # the YAML default: (0.95, 1.65)
    noise_w_scale: tuple[float, float] = (0.6, 1.0)
    espeak_voices: list[str] = field(default_factory=lambda: list(PIPER_ACCENTS))
    espeak_engine_voices: list[str] = field(default_factory=lambda: list(ESPEAK_ACCENTS))
    espeak_variants: list[str] | None = None
    kokoro_accents: list[str] = field(default_factory=lambda: list(KOKORO_ACCENTS))
    kokoro_blends: int = 40
    kokoro_blend_spread: float = 3.0
    kokoro_rate: float = 1.5
    cache_dir: Path | None = None
    """``paths.cache_dir``: the kokoro model is assembled in ``{cache_dir}/kokoro`` (None: default)."""
    pitch_semitones: tuple[float, float] = (-3.0, 3.0)
    formant_warp: tuple[float, float] = (0.88, 1.14)
    tempo: tuple[float, float] = (0.9, 1.1)
    pitch_bins: int = 3
    formant_bins: int = 3
    test_voice_fraction: float = 0.2
    num_workers: int = 0
    shard: tuple[int, int] | None = None
    progress: bool = True

    @classmethod
    def from_config(cls, cfg: Any) -> GenerateSettings:
        """Build from the composed ``train.yaml`` (``data.*``, ``tts.*``, ``seed``, ...)."""
        from omegaconf import OmegaConf

        from wakeforge.core.config import resolve_path

        data, tts = cfg.data, cfg.tts

        def rng_pair(node: Any, key: str) -> tuple[float, float]:
            val = node.get(key)
            try:
                lo, hi = (float(v) for v in val)
            except (TypeError, ValueError):
                raise ConfigError(f"tts.{key} must be a [low, high] pair, got {val!r}") from None
            if lo > hi:
                raise ConfigError(f"tts.{key}: low {lo} is above high {hi}; swap them")
            return lo, hi

        def str_list(val: Any) -> list[str]:
            if val is None:
                return []
            if isinstance(val, str):
                return [val]
            return [str(v) for v in val]

        phrase = data.phrase
        phrases = str_list(OmegaConf.to_object(phrase) if OmegaConf.is_config(phrase) else phrase)
        weights = tts.get("engine_weights") or {}
        general_weights = tts.get("general_engine_weights")
        positive_weights = tts.get("positive_engine_weights")
        variants = tts.get("espeak_variants")
        speaker_ids = tts.get("speaker_ids")
        paths = cfg.get("paths")
        cache_dir = paths.get("cache_dir") if paths is not None else None
        return cls(
            phrases=phrases,
            work_dir=Path(str(cfg.work_dir)),
            seed=int(cfg.seed),
            n_samples=int(data.n_samples),
            n_samples_val=int(data.n_samples_val),
            n_negative=int(data.n_negative),
            n_negative_val=int(data.n_negative_val),
            custom_negative_phrases=str_list(data.get("custom_negative_phrases")),
            adversarial_fraction=float(data.get("adversarial_fraction", 0.15)),
            max_adversarial_phrases=int(tts.get("max_adversarial_phrases", 200)),
            min_adversarial_distance=float(tts.get("min_adversarial_distance", 0.0)),
            positive_paths=str_list(data.get("positive_paths")),
            min_clip_duration_s=float(data.get("min_clip_duration_s", 0.3)),
            max_clip_duration_s=float(data.get("max_clip_duration_s", 1.9)),
            engines=str_list(tts.get("engines", ["piper"])),
            engine_weights={str(k): float(v) for k, v in dict(weights).items()},
            positive_engine_weights=None if positive_weights is None
            else {str(k): float(v) for k, v in dict(positive_weights).items()},
            general_engine_weights=None if general_weights is None
            else {str(k): float(v) for k, v in dict(general_weights).items()},
            piper_voices=str_list(tts.get("piper_voices")),
            speaker_ids=None if speaker_ids is None else [int(s) for s in speaker_ids],
            speaker_mixes=int(tts.get("speaker_mixes", 0) or 0),
            noise_scale=rng_pair(tts, "noise_scale"),
            length_scale=rng_pair(tts, "length_scale"),
            positive_length_scale=None if tts.get("positive_length_scale") is None
            else rng_pair(tts, "positive_length_scale"),
            noise_w_scale=rng_pair(tts, "noise_w_scale"),
            espeak_voices=str_list(tts.get("espeak_voices")),
            espeak_engine_voices=str_list(tts.get("espeak_engine_voices", list(ESPEAK_ACCENTS))),
            espeak_variants=None if variants is None else str_list(variants),
            kokoro_accents=str_list(tts.get("kokoro_accents", list(KOKORO_ACCENTS))),
            kokoro_blends=int(tts.get("kokoro_blends", 40)),
            kokoro_blend_spread=float(tts.get("kokoro_blend_spread", 3.0)),
            kokoro_rate=float(tts.get("kokoro_rate", 1.5)),
            cache_dir=None if not cache_dir else resolve_path(str(cache_dir)),
            pitch_semitones=rng_pair(tts, "pitch_semitones"),
            formant_warp=rng_pair(tts, "formant_warp"),
            tempo=rng_pair(tts, "tempo"),
            pitch_bins=int(tts.get("pitch_bins", 3)),
            formant_bins=int(tts.get("formant_bins", 3)),
            test_voice_fraction=float(tts.get("test_voice_fraction", 0.2)),
            num_workers=int(cfg.get("num_workers", 0) or 0),
            shard=parse_shard(tts.get("shard")),
            progress=bool(tts.get("progress", True)),
        )

    def counts(self) -> dict[str, int]:
        return {
            "positive_train": int(self.n_samples),
            "positive_test": int(self.n_samples_val),
            "negative_train": int(self.n_negative),
            "negative_test": int(self.n_negative_val),
        }

    def validate(self) -> None:
        if not self.phrases:
            raise ConfigError('data.phrase is empty; pass a phrase, e.g. data.phrase="hey jarvis"')
        for split, n in self.counts().items():
            if n < 0:
                raise ConfigError(f"clip count for {split} is {n}; use a count >= 0")
        if not 0.0 <= self.adversarial_fraction <= 1.0:
            raise ConfigError(
                f"data.adversarial_fraction={self.adversarial_fraction} must be within [0, 1]"
            )
        if not 0.0 < self.min_clip_duration_s < self.max_clip_duration_s:
            raise ConfigError(
                "data.min_clip_duration_s must be > 0 and below data.max_clip_duration_s "
                f"(got {self.min_clip_duration_s}, {self.max_clip_duration_s})"
            )
        if not 0.0 <= self.test_voice_fraction < 1.0:
            raise ConfigError(
                f"tts.test_voice_fraction={self.test_voice_fraction} must be within [0, 1)"
            )
        unknown = [e for e in self.engines if e not in KNOWN_ENGINES]
        if unknown or not self.engines:
            raise ConfigError(
                f"tts.engines: unknown engine(s) {unknown}; choose from {list(KNOWN_ENGINES)}"
            )
        if "kokoro" in self.engines:
            if self.kokoro_blends < 0:
                raise ConfigError(
                    f"tts.kokoro_blends={self.kokoro_blends} must be >= 0 (0: the 5 Kokoro styles only)"
                )
            if not self.kokoro_accents:
                raise ConfigError(
                    "tts.kokoro_accents is empty; list espeak-ng languages, e.g. [en-us, en-gb-x-rp]"
                )
        if self.formant_warp[0] <= 0 or self.tempo[0] <= 0:
            raise ConfigError(
                "tts.formant_warp and tts.tempo must be positive factors (e.g. [0.9, 1.1])"
            )


def parse_shard(value: Any) -> tuple[int, int] | None:
    """``"i/n"`` (0-based) -> ``(i, n)``; None/"" -> None.

    Example:
        >>> parse_shard("2/8")
        (2, 8)
    """
    if value is None or value == "":
        return None
    if isinstance(value, (tuple, list)) and len(value) == 2:
        i, n = int(value[0]), int(value[1])
    else:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(value))
        if not m:
            raise ConfigError(f"tts.shard={value!r} must look like i/n, e.g. tts.shard=0/4")
        i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"tts.shard={value!r}: need 0 <= i < n, e.g. tts.shard=0/4 .. 3/4")
    return (i, n) if n > 1 else None


def resolve_workers(num_workers: int) -> int:
    """0 -> all cores this process may use."""
    if num_workers and num_workers > 0:
        return int(num_workers)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)
