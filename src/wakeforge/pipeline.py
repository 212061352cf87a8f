"""The stage runner behind ``python -m wakeforge.train``: generate -> augment -> train."""

from __future__ import annotations

import logging
import time
from typing import Any

from omegaconf import DictConfig

from wakeforge.check import check_config

log = logging.getLogger(__name__)

STAGES = ("generate", "augment", "train")


def run_pipeline(cfg: DictConfig) -> dict[str, Any]:
    """Run the configured stages in order and return the training result."""
    check_config(cfg)  # keys, types, phrase, paths, voices, disk, accelerator: before any work
    stages = [str(s) for s in cfg.get("stages", STAGES)]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        from wakeforge.errors import ConfigError

        raise ConfigError(f"unknown stage(s) {unknown} in stages; choose from {list(STAGES)}")
    timings: dict[str, float] = {}
    result: dict[str, Any] = {}
    for stage in STAGES:
        if stage not in stages:
            continue
        t0 = time.perf_counter()
        if stage == "generate":
            from wakeforge.generation import run_generate

            run_generate(cfg)
        elif stage == "augment":
            from wakeforge.augment.stage import run_augment

            run_augment(cfg)
        else:
            from wakeforge.training import run_training

            result = run_training(cfg)
        timings[stage] = time.perf_counter() - t0
        log.info("stage %s finished in %.1f s", stage, timings[stage])
    result["timings_s"] = timings
    return result
