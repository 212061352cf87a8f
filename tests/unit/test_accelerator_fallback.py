"""A CUDA request without a CUDA device trains on the CPU, with one warning (check and training share it)."""

from __future__ import annotations

import logging

from wakeforge.core import device as check
from wakeforge.core.config import compose_config


def test_gpu_request_without_cuda_falls_back_to_cpu(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(check, "_cuda_available", lambda: False)
    cfg = compose_config(["trainer=ddp", "trainer.accelerator=gpu", "device=cuda"], output_dir=tmp_path / "run")
    with caplog.at_level(logging.WARNING, logger="wakeforge.check"):
        check.apply_accelerator_fallback(cfg, ("augment", "train"))
    assert cfg.trainer.accelerator == "cpu" and cfg.device == "cpu"
    assert str(cfg.trainer.strategy).startswith("ddp")
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1 and "no CUDA device is available: running on the CPU" in msgs[0]
    # With a device present nothing changes.
    monkeypatch.setattr(check, "_cuda_available", lambda: True)
    cfg2 = compose_config(["trainer.accelerator=gpu"], output_dir=tmp_path / "run2")
    check.apply_accelerator_fallback(cfg2)
    assert cfg2.trainer.accelerator == "gpu"
