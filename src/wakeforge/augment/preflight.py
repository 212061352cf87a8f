"""Stage 2's preflight: augmentation settings, background and room folders, stage 1's clips."""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig

from wakeforge.core.config import resolve_path
from wakeforge.core.errors import ConfigError
from wakeforge.core.preflight import Problem, _audio_files, _check_audio_paths


def _check_augmentation(cfg: DictConfig) -> list[Problem]:
    from wakeforge.augment.config import AugmentationConfig
    from wakeforge.augment.stage import check_negative_windows

    try:
        check_negative_windows(cfg)
    except ConfigError as exc:
        return [Problem("data", str(exc))]
    try:
        AugmentationConfig.from_config(cfg.augmentation)
    except ConfigError as exc:
        return [Problem("augmentation", str(exc))]
    except (TypeError, ValueError) as exc:
        return [Problem("augmentation", f"an augmentation value has the wrong type ({exc}); compare with conf/augmentation/default.yaml")]
    return []


def _check_clips(cfg: DictConfig) -> list[Problem]:
    """Stage 2 without stage 1 needs stage 1's clips on disk."""
    from wakeforge.core.layout import CLIP_SPLITS, clips_dir

    work = resolve_path(str(cfg.work_dir))
    for split in CLIP_SPLITS:
        folder = clips_dir(work, split)
        if not folder.is_dir() or next(_audio_files(folder), None) is None:
            return [Problem("stages", f"no {split} clips in {folder}; run `python -m wakeforge.generate` with the same overrides first (or add generate to stages)")]
    return []


def problems(cfg: DictConfig, stages: Sequence[str]) -> list[Problem]:
    """Stage 2's findings (also when training augments on the fly, ``data.stream=true``)."""
    streams = "train" in stages and bool(cfg.data.get("stream"))
    if "augment" not in stages and not streams:
        return []
    aug = cfg.get("augmentation") or {}
    out = _check_augmentation(cfg)
    out += _check_audio_paths("augmentation.background_paths", aug.get("background_paths"),
                              "set augmentation.background_paths=[] to generate backgrounds")
    out += _check_audio_paths("augmentation.rir_paths", aug.get("rir_paths"),
                              "set augmentation.rir_paths=[] to simulate rooms")
    if "generate" not in stages:
        out += _check_clips(cfg)
    return out
