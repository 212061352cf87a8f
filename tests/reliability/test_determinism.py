"""Determinism and resume details that need no full stage run.

Whole-stage determinism (same seed -> identical clips, features and CPU weights, also across a
kill and rerun; Piper clips across worker processes) is measured by ``test_kill_resume.py``
(slow tier).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest

from wakeforge.core.config import compose_config


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def test_espeak_clip_does_not_depend_on_previous_clips() -> None:
    pytest.importorskip("espeakng_loader")
    from wakeforge.generation.tts.base import BaseVoice, Prosody
    from wakeforge.generation.tts.espeak import EspeakEngine

    eng = EspeakEngine(["en-us"], ["m3"])
    voice = BaseVoice("espeak", "m3", "", "en-us")
    prosody = Prosody(0.7, 1.0, 0.8)
    first, _ = eng.synthesize("hey jarvis", voice, prosody, seed=1)
    eng.synthesize("something else entirely, and longer", BaseVoice("espeak", "f2", "", "en-gb-x-rp"), prosody, seed=2)
    again, _ = eng.synthesize("hey jarvis", voice, prosody, seed=1)
    assert _sha(first) == _sha(again)


def test_unreadable_last_ckpt_is_set_aside_not_deleted(tmp_path: Path, caplog) -> None:
    from wakeforge.training.run import _resume_path

    cfg = compose_config(["experiment=smoke", f"paths.root_dir={tmp_path}"])
    last = tmp_path / "last.ckpt"
    last.write_bytes(b"PK\x03\x04 truncated by a kill")
    with caplog.at_level(logging.WARNING, logger="wakeforge"):
        assert _resume_path(cfg, last) is None
    assert not last.exists() and (tmp_path / "last.ckpt.unreadable").read_bytes().startswith(b"PK")
    assert "cannot be loaded (truncated or corrupt); kept as last.ckpt.unreadable" in caplog.text


def test_readable_last_ckpt_is_resumed_with_its_step(tmp_path: Path, caplog) -> None:
    import torch

    from wakeforge.training.run import _resume_path

    cfg = compose_config(["experiment=smoke", f"paths.root_dir={tmp_path}"])
    last = tmp_path / "last.ckpt"
    torch.save({"global_step": 150, "state_dict": {}}, last)
    with caplog.at_level(logging.INFO, logger="wakeforge"):
        assert _resume_path(cfg, last) == str(last)
    assert f"resuming from {last} (step 150)" in caplog.text
    cfg.resume = False
    assert _resume_path(cfg, last) is None
