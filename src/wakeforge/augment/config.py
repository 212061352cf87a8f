"""Typed view of the ``augmentation`` config group: :class:`AugmentationConfig`.

Holds every probability and range of the augmentation chain
(:class:`wakeforge.augment.pipeline.Augmenter`) and of clip placement, validates them on
construction, and builds them from the Hydra node with :meth:`AugmentationConfig.from_config`
(unknown keys are an error). Imports no torch, so config checks stay cheap.

Example:
    >>> AugmentationConfig.from_config({"p_rir": 0.0, "batch_size": 64}).p_rir
    0.0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wakeforge.core.errors import ConfigError

#: Keys of the augmentation config group read by other code (the augment CLI / DataModule).
PASSTHROUGH_KEYS = frozenset({"batch_size", "rounds", "positive_rounds"})

Range = tuple[float, float]


@dataclass(kw_only=True)
class AugmentationConfig:
    """Typed view of the ``augmentation`` config group (probabilities are per example)."""

    #: Room impulse responses: folders of RIR files; empty -> simulated rooms cached once.
    rir_paths: list[str] = field(default_factory=list)
    #: Rooms to simulate when ``rir_paths`` is empty.
    n_simulated_rirs: int = 64
    #: Length every RIR is cut/padded to, seconds.
    rir_duration_s: float = 1.0
    p_rir: float = 0.5
    #: Background folders; empty -> generated noise, babble and tones.
    background_paths: list[str] = field(default_factory=list)
    #: Repeats of each background folder's segments (one value per folder, or one for all).
    background_paths_duplication_rate: list[float] = field(default_factory=lambda: [1.0])
    #: Background segment length, seconds (at least the training window).
    background_segment_s: float = 4.0
    #: Cap on the background bank, seconds of audio.
    background_max_s: float = 3600.0
    #: Background audio generated when no folder is given, seconds.
    background_generated_s: float = 600.0
    #: Share of the generated backgrounds that are household sounds (running water, a motor,
    #: clinks, knocks, rustles); the rest stay noise, tones and babble.
    background_household_share: float = 0.0
    p_background: float = 0.75
    #: Background SNR range, dB, against the active (non-pause) level of the clip.
    snr_db: Range = (-5.0, 15.0)
    p_colored_noise: float = 0.25
    colored_noise_snr_db: Range = (10.0, 30.0)
    #: Spectral decay 1/f**x of the coloured noise: 0 white, 1 pink, 2 brown, -1 blue.
    colored_noise_f_decay: Range = (-1.0, 2.0)
    p_eq: float = 0.25
    eq_gain_db: Range = (-6.0, 6.0)
    p_filter: float = 0.25
    lowpass_hz: Range = (3000.0, 7500.0)
    highpass_hz: Range = (40.0, 400.0)
    p_distortion: float = 0.25
    distortion_drive_db: Range = (0.0, 20.0)
    p_pitch_shift: float = 0.25
    pitch_shift_semitones: Range = (-3.0, 3.0)
    p_gain: float = 1.0
    gain_db: Range = (-12.0, 6.0)
    #: Hard clipping at full scale (an input level too hot for the converter): the row is
    #: brought to peak 1, driven this many dB further and clipped at +-1, level not restored.
    p_clip: float = 0.0
    clip_drive_db: Range = (3.0, 15.0)
    #: Positives end this long before the window end, seconds (placement).
    end_jitter_s: Range = (0.0, 0.2)
    #: RMS level of the noise that fills windows around clips, dBFS (placement).
    pad_dbfs: Range = (-60.0, -40.0)
    #: Speed perturbation before placement ("tape speed": tempo, pitch and formants together,
    #: like a shorter or longer vocal tract speaking faster or slower), factor > 1 = faster.
    p_speed: float = 0.0
    speed_factor: Range = (0.85, 1.15)
    #: Vocal-tract length perturbation in the features' spectrum (formants moved, pitch and
    #: timing kept), factor > 1 = formants up.
    p_vtlp: float = 0.0
    vtlp_factor: Range = (0.9, 1.1)
    #: Tempo perturbation before placement (rate only; pitch and formants kept), factor > 1 =
    #: faster, drawn log-uniformly.
    p_tempo: float = 0.0
    tempo_factor: Range = (0.8, 1.25)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("p_") and not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"augmentation.{f.name}={value} must be a probability in [0, 1]")
            if f.type == "Range":
                try:
                    lo, hi = (float(v) for v in value)
                except (TypeError, ValueError):
                    raise ConfigError(
                        f"augmentation.{f.name}={value!r} must be a [min, max] pair"
                    ) from None
                if lo > hi:
                    raise ConfigError(f"augmentation.{f.name}={[lo, hi]}: min is above max")
                setattr(self, f.name, (lo, hi))
        if not -12.0 <= self.pitch_shift_semitones[0] <= self.pitch_shift_semitones[1] <= 12.0:
            raise ConfigError("augmentation.pitch_shift_semitones must lie within [-12, 12]")
        if self.lowpass_hz[0] <= 0 or self.highpass_hz[0] <= 0:
            raise ConfigError("augmentation.lowpass_hz / highpass_hz must be positive frequencies")
        if self.end_jitter_s[0] < 0:
            raise ConfigError("augmentation.end_jitter_s must be >= 0 seconds")
        if not 0.5 <= self.speed_factor[0] <= self.speed_factor[1] <= 2.0:
            raise ConfigError("augmentation.speed_factor must lie within [0.5, 2.0]")
        if not 0.5 <= self.tempo_factor[0] <= self.tempo_factor[1] <= 2.0:
            raise ConfigError("augmentation.tempo_factor must lie within [0.5, 2.0]")
        if not 0.0 <= float(self.background_household_share) < 1.0:
            raise ConfigError(
                f"augmentation.background_household_share={self.background_household_share} must be in [0, 1)"
            )
        if self.clip_drive_db[0] < 0:
            raise ConfigError("augmentation.clip_drive_db must be >= 0 dB")
        if not 0.5 <= self.vtlp_factor[0] <= self.vtlp_factor[1] <= 2.0:
            raise ConfigError("augmentation.vtlp_factor must lie within [0.5, 2.0]")

    @classmethod
    def from_config(cls, node: Mapping[str, Any] | Any, strict: bool = True) -> AugmentationConfig:
        """Build from the ``augmentation`` node (DictConfig or dict).

        Args:
            node: the config group; ``batch_size`` and ``rounds`` are ignored here.
            strict: raise on unknown keys (a misspelt key would otherwise be silently unused).

        Raises:
            ConfigError: unknown key (when ``strict``) or invalid value.
        """
        try:
            from omegaconf import DictConfig, OmegaConf

            if isinstance(node, DictConfig):
                node = OmegaConf.to_container(node, resolve=True)
        except ImportError:  # pragma: no cover - omegaconf is a requirement
            pass
        data = dict(node or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names - PASSTHROUGH_KEYS)
        if unknown and strict:
            raise ConfigError(
                f"unknown augmentation key(s) {unknown}; valid keys: {sorted(names | PASSTHROUGH_KEYS)}"
            )
        kwargs = {k: v for k, v in data.items() if k in names}
        for key in ("rir_paths", "background_paths"):
            if key in kwargs:
                kwargs[key] = [str(p) for p in (kwargs[key] or [])]
        rate = kwargs.get("background_paths_duplication_rate")
        if rate is not None and not isinstance(rate, (list, tuple)):
            kwargs["background_paths_duplication_rate"] = [rate]
        return cls(**kwargs)
