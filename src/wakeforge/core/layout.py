"""Where each stage puts its outputs inside ``work_dir`` (the seed's layout)."""

from __future__ import annotations

from pathlib import Path

CLIP_SPLITS = ("positive_train", "positive_test", "negative_train", "negative_test")
#: Feature classes written by stage 2 (keys of ``data.batch_n_per_class``).
FEATURE_CLASSES = ("positive", "adversarial_negative", "background", "rearranged_negative")


def clips_dir(work_dir: str | Path, split: str) -> Path:
    return Path(work_dir) / split


def features_dir(work_dir: str | Path) -> Path:
    return Path(work_dir) / "features"


def feature_file(work_dir: str | Path, cls: str, split: str) -> Path:
    """``{work_dir}/features/{cls}_features_{split}.npy`` (openWakeWord's naming)."""
    return features_dir(work_dir) / f"{cls}_features_{split}.npy"
