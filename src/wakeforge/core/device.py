"""CUDA requested where there is none: one warning and a fall back to the CPU.

Shared by the stages that can run on a GPU (augment's ``device``, training's
``trainer.accelerator``): the config is switched to ``cpu`` so later stages do not warn again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from omegaconf import DictConfig

from wakeforge.core.config import open_struct
from wakeforge.core.preflight import Problem

log = logging.getLogger(__name__)


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a requirement
        return False
    return bool(torch.cuda.is_available())

def _check_accelerator(cfg: DictConfig, stages: Sequence[str], fallback: bool) -> list[Problem]:
    accel = str((cfg.get("trainer") or {}).get("accelerator", "auto")).lower()
    device = str(cfg.get("device", "auto")).lower()
    wants_trainer = "train" in stages and accel in ("gpu", "cuda")
    wants_device = device.startswith("cuda") and ("augment" in stages or "train" in stages)
    if not (wants_trainer or wants_device) or _cuda_available():
        return []
    keys = [k for k, on in (("trainer.accelerator=" + accel, wants_trainer), ("device=" + device, wants_device)) if on]
    if fallback:
        with open_struct(cfg):
            if wants_trainer:
                cfg.trainer.accelerator = "cpu"
                if str(cfg.trainer.get("strategy", "")).startswith("ddp"):
                    cfg.trainer.strategy = "ddp"
            if wants_device:
                cfg.device = "cpu"
    return [Problem("accelerator", f"{' and '.join(keys)} requested but no CUDA device is available: running on the CPU", "warning")]

def apply_accelerator_fallback(cfg: DictConfig, stages: Sequence[str] = ("train",)) -> None:
    """Switch a CUDA request in ``cfg`` to the CPU when no CUDA device exists (one warning).

    :func:`check_config` does this before a pipeline runs; library callers that start a stage
    directly (``run_training``) get the same rule from here.
    """
    for problem in _check_accelerator(cfg, stages, fallback=True):
        log.warning("%s", problem.message)
