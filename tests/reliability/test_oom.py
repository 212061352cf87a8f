"""Out of memory, injected: the real exception types (``torch.cuda.OutOfMemoryError``,
``MemoryError``) raised from inside the stage, never a mock of the library.

* augmentation: the first out-of-memory error halves the block size and the stage finishes; a
  second one stops with one line naming the knobs, keeping every block already written.
* training: one line naming the knobs (not retried: a smaller batch is another run).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from wakeforge.core.config import compose_config
from wakeforge.core.layout import CLIP_SPLITS, feature_file
from wakeforge.core.errors import cli_errors

SR = 16_000
#: Small, fast stage 2: no augmentation chain, few rows, blocks of 8.
AUG = ["experiment=smoke", "augmentation=none", "augmentation.batch_size=8", "data.n_background=8",
       "augmentation.background_generated_s=40", "data.batch_n_per_class.rearranged_negative=4"]


def _clips(work: Path, n: int = 5) -> None:
    rng = np.random.default_rng(0)
    for split in CLIP_SPLITS:
        d = work / split
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            t = np.arange(int(0.7 * SR)) / SR
            x = 0.3 * np.sin(2 * np.pi * rng.uniform(200, 900) * t) + rng.normal(0, 0.01, t.size)
            sf.write(d / f"{i:06d}.wav", x.astype(np.float32), SR, subtype="PCM_16")


def _oom_once(kind: type[BaseException], times: int = 1):
    """Wrap ClipFeaturizer.__call__ so its first ``times`` calls raise ``kind``."""
    from wakeforge.augment.featurize import ClipFeaturizer

    real = ClipFeaturizer.__call__
    calls = {"n": 0, "sizes": []}

    def flaky(self, clips, mode, generator, augment=True):
        calls["n"] += 1
        calls["sizes"].append(len(clips))
        if calls["n"] <= times:
            raise kind("CUDA out of memory. Tried to allocate 2.00 GiB" if kind is not MemoryError else "")
        return real(self, clips, mode, generator, augment)

    return flaky, calls


@pytest.mark.parametrize("kind", [torch.cuda.OutOfMemoryError, MemoryError], ids=["cuda", "host"])
def test_augment_oom_halves_the_block_once_and_finishes(kind, tmp_path, monkeypatch, caplog) -> None:
    from wakeforge.augment.featurize import ClipFeaturizer
    from wakeforge.augment.stage import run_augment

    cfg = compose_config([*AUG, f"paths.root_dir={tmp_path}"], output_dir=tmp_path / "run")
    work = Path(cfg.work_dir)
    _clips(work)
    flaky, calls = _oom_once(kind, times=1)
    monkeypatch.setattr(ClipFeaturizer, "__call__", flaky)
    with caplog.at_level(logging.WARNING, logger="wakeforge"):
        written = run_augment(cfg)
    warn = [r.getMessage() for r in caplog.records if "out of" in r.getMessage()]
    where = "CUDA" if kind is not MemoryError else "host"
    assert warn == [f"augment: out of {where} memory with augmentation.batch_size=8; retrying with 4 "
                    "(set augmentation.batch_size=4 to start there)"]
    assert calls["sizes"][:2] == [5, 4]  # the 5-row file: one 8-row block failed, then blocks of 4
    assert max(calls["sizes"][1:]) <= 4  # the halved size is kept for the rest of the run
    pos = np.load(feature_file(work, "positive", "train"))
    assert pos.shape == (5, 16, 96) and np.isfinite(pos).all()
    assert set(written) == {"positive_features_train.npy", "positive_features_test.npy",
                            "adversarial_negative_features_train.npy", "adversarial_negative_features_test.npy",
                            "background_features_train.npy", "rearranged_negative_features_train.npy"}
    # the positives' rearrangements: 8 sliding rows per rearranged clip, up to 5 per positive
    rearr = np.load(feature_file(work, "rearranged_negative", "train"))
    assert rearr.shape[0] % 8 == 0 and 0 < rearr.shape[0] <= 5 * 5 * 8 and np.isfinite(rearr).all()


def test_augment_second_oom_stops_with_one_line_and_keeps_blocks(tmp_path, monkeypatch, capsys) -> None:
    from wakeforge.augment.featurize import ClipFeaturizer
    from wakeforge.augment.stage import run_augment

    cfg = compose_config([*AUG, "augmentation.batch_size=4", f"paths.root_dir={tmp_path}"], output_dir=tmp_path / "run")
    work = Path(cfg.work_dir)
    _clips(work)
    real = ClipFeaturizer.__call__
    calls = {"n": 0}

    def flaky(self, clips, mode, generator, augment=True):  # one good block, then always OOM
        calls["n"] += 1
        if calls["n"] >= 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, clips, mode, generator, augment)

    monkeypatch.setattr(ClipFeaturizer, "__call__", flaky)
    with pytest.raises(SystemExit) as ex, cli_errors():
        run_augment(cfg)
    assert ex.value.code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert err == ["error: out of CUDA memory in augmentation at augmentation.batch_size=2 (already halved once): "
                   "lower augmentation.batch_size (e.g. 1) or augmentation.background_max_s, or set device=cpu; "
                   "4 of 5 rows of positive_features_train.npy are kept, rerun to continue"]
    side = json.loads((work / "features" / "positive_features_train.npy.partial.json").read_text())
    assert side["done"] == [[0, 4]]
    # The same command without the fault finishes from the kept rows.
    monkeypatch.setattr(ClipFeaturizer, "__call__", real)
    run_augment(cfg)
    assert np.load(feature_file(work, "positive", "train")).shape == (5, 16, 96)


def test_training_oom_is_one_line_naming_the_knobs(tmp_path, monkeypatch, capsys) -> None:
    from tests.slow.conftest import QUICK_TRAIN, write_features
    from wakeforge.training.models.lit_module import WakeWordLitModule
    from wakeforge.pipeline.run import run_pipeline

    cfg = compose_config([*QUICK_TRAIN, "logger=csv", "callbacks.export.tflite=false", f"paths.root_dir={tmp_path}"],
                         output_dir=tmp_path / "run")
    write_features(Path(cfg.work_dir))

    def oom(self, batch, batch_idx):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(WakeWordLitModule, "training_step", oom)
    with pytest.raises(SystemExit) as ex, cli_errors():
        run_pipeline(cfg)
    assert ex.value.code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert err == ["error: out of CUDA memory in training: lower data.batch_n_per_class (16/16/8/0 rows per batch, "
                   "e.g. half), model.head.layer_size (32) or data.n_samples_val (12 held-out clips), or set "
                   "trainer.accelerator=cpu, then rerun"]


def test_cli_errors_names_knobs_for_any_other_oom(capsys) -> None:
    with pytest.raises(SystemExit) as ex, cli_errors():
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")
    assert ex.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: out of memory: lower data.batch_n_per_class, augmentation.batch_size, data.n_samples_val or "
        "model.head.layer_size and rerun (finished work is kept).")
