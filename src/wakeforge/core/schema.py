"""Typed schemas of the config's value groups, registered in Hydra's ConfigStore.

``conf/train.yaml`` lists ``wakeforge_schema`` first in its defaults, so every group file and
override is merged into these dataclasses when Hydra composes the config: a wrong type
(``data.n_samples=abc``), a value outside an enum (``tts.engines=[nope]``) or a misspelt key
(``data.n_sampels=5``) fails at compose with Hydra's own message, which
:func:`wakeforge.core.hydra_cli.hydra_error_line` turns into the one line the tool prints.

Ranges that a type cannot say are checked in each dataclass's ``__post_init__``, next to the
field they guard; :func:`validate` runs them by building the dataclasses from a composed config
(``OmegaConf.to_object``). What needs the disk or the machine (paths exist, audio decodes, disk
space, CUDA) is each stage's preflight (``wakeforge.<stage>.preflight``).

The groups with a ``_target_`` (``model``, ``trainer``, ``callbacks``, ``logger``) are typed
``Any``: their keys are the constructor arguments of the classes they name, which Hydra checks
when it instantiates them; :mod:`wakeforge.core.safety` allows only known classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Dict, List, Optional

from omegaconf import DictConfig, OmegaConf

from wakeforge.core.errors import ConfigError

#: Name of the root schema in Hydra's ConfigStore (``conf/train.yaml`` lists it first).
SCHEMA_NAME = "wakeforge_schema"


class Engine(StrEnum):
    """Speech engines of stage 1 (``tone``: beeps, for tests only)."""

    piper = "piper"
    espeak = "espeak"
    kokoro = "kokoro"
    tone = "tone"


class Floor(StrEnum):
    """Noise floor of the mel front end: per 80 ms chunk (the detector's) or per clip."""

    chunk = "chunk"
    clip = "clip"


class Stage(StrEnum):
    generate = "generate"
    augment = "augment"
    train = "train"


# Why hand-written range checks here: OmegaConf types say int/float/list but not ">= 1" or
# "[low, high] with low <= high"; these helpers keep each message naming the key and the fix.
def _key(group: str, name: str) -> str:
    return f"{group}.{name}" if group else name


def _at_least(group: str, name: str, value: float, lo: float, strict: bool = False) -> None:
    if not math.isfinite(float(value)) or value < lo or (strict and value <= lo):
        rel = ">" if strict else ">="
        raise ConfigError(f"{_key(group, name)} must be {rel} {lo}, got {value}")


def _within(group: str, name: str, value: float, lo: float, hi: float, what: str = "a number") -> None:
    if not math.isfinite(float(value)) or not lo <= value <= hi:
        raise ConfigError(f"{group}.{name} must be {what} in [{lo}, {hi}], got {value}")


def _pair(group: str, name: str, value: Any) -> None:
    if value is None:
        return
    if len(value) != 2 or not all(math.isfinite(float(x)) for x in value):
        raise ConfigError(f"{group}.{name} must be a [low, high] pair of numbers, got {list(value)}")
    if float(value[0]) > float(value[1]):
        raise ConfigError(f"{group}.{name}: low {value[0]} is above high {value[1]}; swap them")


@dataclass
class DataSchema:
    """``conf/data/*.yaml``: the phrase, clip counts, batch mix, extra feature files."""

    # A phrase or a list of phrases (one model hears any of them); checked by stage 1's preflight.
    phrase: Any = "hey jarvis"
    custom_negative_phrases: List[str] = field(default_factory=list)
    n_samples: int = 2000
    n_samples_val: int = 300
    n_negative: int = 8000
    n_negative_val: int = 1000
    adversarial_fraction: float = 0.15
    positive_paths: List[str] = field(default_factory=list)
    batch_n_per_class: Dict[str, int] = field(default_factory=lambda: {
        "positive": 64, "adversarial_negative": 192, "background": 32, "rearranged_negative": 32})
    feature_data_files: Dict[str, str] = field(default_factory=dict)
    false_positive_validation_data_path: Optional[str] = None
    clip_duration_s: float = 2.0
    min_clip_duration_s: float = 0.3
    max_clip_duration_s: float = 1.9
    stream: bool = False
    loader_workers: int = 0
    n_background: int = 1000
    n_rearranged_negative: int = 2000
    negative_end_fraction: float = 0.5
    negative_windows_per_clip: int = 8
    negative_window_hop_s: float = 0.16

    def __post_init__(self) -> None:
        for name in ("n_samples", "n_samples_val", "n_negative", "n_negative_val", "n_rearranged_negative",
                     "negative_windows_per_clip"):
            _at_least("data", name, getattr(self, name), 1)
        for name in ("n_background", "loader_workers"):
            _at_least("data", name, getattr(self, name), 0)
        for name in ("adversarial_fraction", "negative_end_fraction"):
            _within("data", name, getattr(self, name), 0.0, 1.0)
        for name in ("clip_duration_s", "min_clip_duration_s", "max_clip_duration_s", "negative_window_hop_s"):
            _at_least("data", name, getattr(self, name), 0.0, strict=True)
        if not self.min_clip_duration_s < self.max_clip_duration_s:
            raise ConfigError(f"data.min_clip_duration_s must be > 0 and below data.max_clip_duration_s "
                              f"(got {self.min_clip_duration_s}, {self.max_clip_duration_s})")
        bad = {k: v for k, v in self.batch_n_per_class.items() if v < 0}
        if bad:
            k, v = next(iter(bad.items()))
            raise ConfigError(f"data.batch_n_per_class.{k} must be a whole number >= 0, got {v}")
        if not self.batch_n_per_class or sum(self.batch_n_per_class.values()) == 0:
            raise ConfigError("data.batch_n_per_class needs at least one class with a positive count")
        if self.batch_n_per_class.get("positive", 0) < 1:
            raise ConfigError("data.batch_n_per_class.positive must be >= 1 (each batch needs positives)")


@dataclass
class TTSSchema:
    """``conf/tts/*.yaml``: speech engines, voices, prosody and pseudo-speaker ranges."""

    engines: List[Engine] = field(default_factory=lambda: [Engine.piper, Engine.espeak, Engine.kokoro])
    engine_weights: Dict[str, float] = field(default_factory=dict)
    general_engine_weights: Optional[Dict[str, float]] = None
    positive_engine_weights: Optional[Dict[str, float]] = None
    piper_voices: List[str] = field(default_factory=list)
    speaker_ids: Optional[List[int]] = None
    speaker_mixes: int = 0
    noise_scale: List[float] = field(default_factory=lambda: [0.5, 1.0])
    length_scale: List[float] = field(default_factory=lambda: [0.75, 1.3])
    positive_length_scale: Optional[List[float]] = None
    noise_w_scale: List[float] = field(default_factory=lambda: [0.6, 1.0])
    espeak_voices: List[str] = field(default_factory=list)
    espeak_engine_voices: List[str] = field(default_factory=list)
    espeak_variants: Optional[List[str]] = None
    kokoro_accents: List[str] = field(default_factory=list)
    kokoro_blends: int = 40
    kokoro_blend_spread: float = 3.0
    kokoro_rate: float = 1.5
    pitch_semitones: List[float] = field(default_factory=lambda: [-3.0, 3.0])
    formant_warp: List[float] = field(default_factory=lambda: [0.88, 1.14])
    tempo: List[float] = field(default_factory=lambda: [0.9, 1.1])
    pitch_bins: int = 3
    formant_bins: int = 3
    test_voice_fraction: float = 0.2
    max_adversarial_phrases: int = 200
    min_adversarial_distance: float = 0.0
    shard: Optional[str] = None
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("noise_scale", "length_scale", "positive_length_scale", "noise_w_scale",
                     "pitch_semitones", "formant_warp", "tempo"):
            _pair("tts", name, getattr(self, name))
        for name in ("pitch_bins", "formant_bins", "max_adversarial_phrases"):
            _at_least("tts", name, getattr(self, name), 1)
        for name in ("speaker_mixes", "kokoro_blends"):
            _at_least("tts", name, getattr(self, name), 0)
        _within("tts", "test_voice_fraction", self.test_voice_fraction, 0.0, 1.0)
        _within("tts", "min_adversarial_distance", self.min_adversarial_distance, 0.0, 10.0)
        _within("tts", "kokoro_blend_spread", self.kokoro_blend_spread, 1.0, 4.0)
        _within("tts", "kokoro_rate", self.kokoro_rate, 0.5, 3.0)
        for name in ("engine_weights", "general_engine_weights", "positive_engine_weights"):
            for engine, w in (getattr(self, name) or {}).items():
                if not math.isfinite(float(w)) or w < 0:
                    raise ConfigError(f"tts.{name}.{engine} must be a weight >= 0, got {w}")


@dataclass
class AugmentationSchema:
    """``conf/augmentation/*.yaml``: rooms, backgrounds, noise, EQ, speed, placement."""

    batch_size: int = 64
    rounds: int = 1
    positive_rounds: int = 1
    rir_paths: List[str] = field(default_factory=list)
    n_simulated_rirs: int = 64
    rir_duration_s: float = 1.0
    p_rir: float = 0.5
    background_paths: List[str] = field(default_factory=list)
    # One rate for every folder or a list with one per folder (fractions allowed).
    background_paths_duplication_rate: Any = field(default_factory=lambda: [1])
    background_segment_s: float = 4.0
    # Whole seconds (ints, as in the YAML, so stage 2's settings fingerprint is unchanged).
    background_max_s: int = 3600
    background_generated_s: int = 600
    background_household_share: float = 0.0
    p_background: float = 0.75
    snr_db: List[float] = field(default_factory=lambda: [-5.0, 15.0])
    p_colored_noise: float = 0.25
    colored_noise_snr_db: List[float] = field(default_factory=lambda: [10.0, 30.0])
    colored_noise_f_decay: List[float] = field(default_factory=lambda: [-1.0, 2.0])
    p_eq: float = 0.25
    eq_gain_db: List[float] = field(default_factory=lambda: [-6.0, 6.0])
    p_filter: float = 0.25
    lowpass_hz: List[float] = field(default_factory=lambda: [3000.0, 7500.0])
    highpass_hz: List[float] = field(default_factory=lambda: [40.0, 400.0])
    p_distortion: float = 0.25
    distortion_drive_db: List[float] = field(default_factory=lambda: [0.0, 20.0])
    p_pitch_shift: float = 0.25
    pitch_shift_semitones: List[float] = field(default_factory=lambda: [-3.0, 3.0])
    gain_db: List[float] = field(default_factory=lambda: [-12.0, 6.0])
    p_gain: float = 1.0
    p_clip: float = 0.0
    clip_drive_db: List[float] = field(default_factory=lambda: [3.0, 15.0])
    end_jitter_s: List[float] = field(default_factory=lambda: [0.0, 0.2])
    pad_dbfs: List[float] = field(default_factory=lambda: [-90.0, -40.0])
    p_speed: float = 0.5
    speed_factor: List[float] = field(default_factory=lambda: [0.85, 1.15])
    p_vtlp: float = 0.0
    vtlp_factor: List[float] = field(default_factory=lambda: [0.9, 1.1])
    p_tempo: float = 0.0
    tempo_factor: List[float] = field(default_factory=lambda: [0.8, 1.25])

    def __post_init__(self) -> None:
        for name in ("batch_size", "rounds", "positive_rounds"):
            _at_least("augmentation", name, getattr(self, name), 1)
        _at_least("augmentation", "n_simulated_rirs", self.n_simulated_rirs, 0)
        for name in ("rir_duration_s", "background_segment_s", "background_max_s", "background_generated_s"):
            _at_least("augmentation", name, getattr(self, name), 0.0, strict=True)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("p_"):
                _within("augmentation", f.name, value, 0.0, 1.0, what="a probability")
            elif f.type == "List[float]":  # annotations are strings (from __future__ import annotations)
                _pair("augmentation", f.name, value)


@dataclass
class FeaturesSchema:
    """``conf/features/*.yaml``: openWakeWord's frozen feature models."""

    cache_dir: str = "${paths.cache_dir}"
    n_frames: int = 16
    floor: Floor = Floor.chunk

    def __post_init__(self) -> None:
        _at_least("features", "n_frames", self.n_frames, 1)


@dataclass
class PathsSchema:
    """``conf/paths/*.yaml``: where data, models, logs and caches go."""

    root_dir: str = "${oc.env:WAKEFORGE_ROOT,.}"
    wake_dir: str = "${paths.root_dir}/data"
    training_data_dir: str = "${paths.wake_dir}/training-data"
    detection_dir: str = "${paths.wake_dir}/detection"
    log_dir: str = "${paths.root_dir}/logs"
    cache_dir: str = "${oc.env:WAKEFORGE_CACHE_DIR,${oc.env:XDG_CACHE_HOME,${oc.env:HOME}/.cache}/wakeforge}"


@dataclass
class WakeforgeSchema:
    """The root: the value groups above, the instantiated groups, and the top-level keys."""

    paths: PathsSchema = field(default_factory=PathsSchema)
    data: DataSchema = field(default_factory=DataSchema)
    tts: TTSSchema = field(default_factory=TTSSchema)
    augmentation: AugmentationSchema = field(default_factory=AugmentationSchema)
    features: FeaturesSchema = field(default_factory=FeaturesSchema)
    model: Any = None
    trainer: Any = None
    callbacks: Any = None
    logger: Any = None
    finetune: Any = None
    model_name: str = "${slug:${data.phrase}}"
    output_dir: str = "${paths.detection_dir}"
    work_dir: str = "${output_dir}/${model_name}"
    seed: int = 12345
    stages: List[Stage] = field(default_factory=lambda: [Stage.generate, Stage.augment, Stage.train])
    device: str = "auto"
    num_workers: int = 0
    resume: bool = True

    def __post_init__(self) -> None:
        _top_level_ranges(self.seed, self.num_workers)


def _top_level_ranges(seed: int, num_workers: int) -> None:
    # The root holds the instantiated groups (typed Any), so validate() checks these keys
    # directly instead of building the whole root; an empty ``stages`` is the pipeline's check.
    _at_least("", "seed", seed, 0)
    _at_least("", "num_workers", num_workers, 0)


#: The groups :func:`validate` builds (and so range-checks) from a composed config.
VALUE_GROUPS = {"data": DataSchema, "tts": TTSSchema, "augmentation": AugmentationSchema,
                "features": FeaturesSchema, "paths": PathsSchema}


def register() -> None:
    """Store the root schema in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=SCHEMA_NAME, node=WakeforgeSchema)


def validate(cfg: DictConfig) -> None:
    """Run every value group's range checks on a composed config; raise one :class:`ConfigError`.

    Types, enums and key names were already checked when Hydra merged the YAML into the schema.
    """
    for name in VALUE_GROUPS:
        node = cfg.get(name)
        if isinstance(node, DictConfig) and OmegaConf.get_type(node) is VALUE_GROUPS[name]:
            OmegaConf.to_object(node)
    _top_level_ranges(int(cfg.get("seed", 0)), int(cfg.get("num_workers", 0)))
