"""Fixtures for the operations tests: a work dir of ready-made features, a subprocess runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wakeforge.core.layout import feature_file

REPO = Path(__file__).resolve().parents[2]


def write_features(work_dir: Path, seed: int = 0) -> Path:
    """Stage 2's outputs for two separable classes (Gaussian windows), so stage 3 runs alone."""
    rng = np.random.default_rng(seed)
    layout = [
        ("positive", "train", 64, 1.0),
        ("positive", "test", 24, 1.0),
        ("adversarial_negative", "train", 64, -1.0),
        ("adversarial_negative", "test", 24, -1.0),
        ("background", "train", 32, -1.0),
        ("rearranged_negative", "train", 32, -1.0),
    ]
    for cls, split, n, mean in layout:
        path = feature_file(work_dir, cls, split)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, (rng.normal(0.0, 1.0, (n, 16, 96)) + mean).astype(np.float32))
    return work_dir


@pytest.fixture
def feature_work_dir(tmp_path: Path) -> Path:
    return write_features(tmp_path / "work" / "hey_jarvis")


#: Overrides that make stage 3 short and quiet on ready-made features (no clips: no held-out
#: clip evaluation, which streams stage 1's test clips through the detector).
QUICK_TRAIN = [
    "experiment=smoke",
    "stages=[train]",
    "trainer.max_steps=40",
    "trainer.val_check_interval=20",
    "trainer.enable_progress_bar=false",
    "++callbacks.held_out_evaluation=null",
]


def run_module(
    module: str, args: list[str], cwd: Path, timeout: int = 600, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` in ``cwd`` with W&B off unless ``env`` says otherwise."""
    full_env = {
        **os.environ,
        "WANDB_MODE": "disabled",
        "DVC_NO_ANALYTICS": "1",
        "HYDRA_FULL_ERROR": "1",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=full_env,
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
