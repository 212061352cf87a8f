"""Check a config before the expensive work starts: every stage's preflight, disk and device.

:func:`check_config` is the first step of ``python -m wakeforge.train`` (through
:func:`wakeforge.pipeline.run.run_pipeline`), ``python -m wakeforge.generate``,
``python -m wakeforge.augment`` and all of ``python -m wakeforge.check``. What is checked:

* **keys, types, enums, ranges**: the schema (:mod:`wakeforge.core.schema`), when Hydra
  composes the config and again here (a config built in code);
* **the phrase, voices, recordings** (:mod:`wakeforge.generation.preflight`);
* **augmentation settings, background/room folders** (:mod:`wakeforge.augment.preflight`);
* **batch mix, feature files** (:mod:`wakeforge.training.preflight`) and a real-recording
  suite (:mod:`wakeforge.evaluation.preflight`);
* **safety** (targets, ``model_name``, writable folders; :mod:`wakeforge.core.safety`);
* **what an earlier stage should have left** when a stage runs without it (``stages=[train]``);
* **disk space** for the planned clips and features (``shutil.disk_usage``);
* **accelerator** (:mod:`wakeforge.core.device`): CUDA requested without CUDA is a warning.

Every message names the fix; ``docs/errors.md`` lists them.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from wakeforge.core.config import resolve_path
from wakeforge.core.errors import ConfigError
from wakeforge.core.preflight import Problem

log = logging.getLogger(__name__)


STAGES = ("generate", "augment", "train")

#: Planned size of one stage-1 clip: ~1.5 s of 16 kHz 16-bit mono (32 kB/s) plus the header.
CLIP_BYTES = 48_044

#: One feature row: 16 x 96 float32.
FEATURE_ROW_BYTES = 16 * 96 * 4

#: Checkpoints, exports, logs: a fixed allowance.
OTHER_BYTES = 50 * 2**20

def _stages(cfg: DictConfig, stages: Sequence[str] | None) -> tuple[list[str], list[Problem]]:
    raw = stages if stages is not None else cfg.get("stages", list(STAGES))
    if isinstance(raw, str):
        raw = [raw]
    items = [str(s) for s in (raw or [])]
    unknown = [s for s in items if s not in STAGES]
    if unknown:
        return [s for s in items if s in STAGES], [Problem("stages", f"unknown stage(s) {unknown} in stages; choose from {list(STAGES)}, e.g. stages=[augment,train]")]
    if not items:
        return [], [Problem("stages", f"stages is empty; choose from {list(STAGES)}")]
    return items, []

def _existing_bytes(folder: Path, pattern: str) -> int:
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.glob(pattern) if p.is_file())

def planned_bytes(cfg: DictConfig, stages: Sequence[str]) -> dict[str, int]:
    """Bytes the listed stages still have to write: ``{"clips", "features", "other", "total"}``."""
    from wakeforge.core.layout import CLIP_SPLITS, clips_dir, features_dir

    data = cfg.data
    work = resolve_path(str(cfg.work_dir))

    def n(key: str) -> int:  # counts are whole numbers >= 0 (the schema)
        return max(0, int(data.get(key, 0)))

    rounds = max(1, int(cfg.get("augmentation", {}).get("rounds", 1)))
    n_clips = n("n_samples") + n("n_samples_val") + n("n_negative") + n("n_negative_val")
    pos_rounds = max(1, int(cfg.get("augmentation", {}).get("positive_rounds", 1)))
    n_rows = ((n("n_samples") * pos_rounds + n("n_negative") + n("n_background")) * rounds
              + n("n_samples_val") + n("n_negative_val"))
    clips = features = 0
    if "generate" in stages:
        have = sum(_existing_bytes(clips_dir(work, s), "*.wav") for s in CLIP_SPLITS)
        clips = max(0, n_clips * CLIP_BYTES - have)
    if "augment" in stages:
        have = _existing_bytes(features_dir(work), "*.npy")
        features = max(0, n_rows * FEATURE_ROW_BYTES - have)
    other = OTHER_BYTES if "train" in stages else 0
    return {"clips": clips, "features": features, "other": other, "total": clips + features + other,
            "n_clips": n_clips, "n_rows": n_rows}

def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"

def _check_disk(cfg: DictConfig, stages: Sequence[str]) -> list[Problem]:
    work = resolve_path(str(cfg.work_dir))
    need = planned_bytes(cfg, stages)
    probe = work
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return []
    if need["total"] > free:
        return [Problem(
            "disk",
            f"not enough disk space under {probe}: this run writes about {_gb(need['total'])} "
            f"({need['n_clips']} clips x {CLIP_BYTES // 1000} kB + {need['n_rows']} feature rows x "
            f"{FEATURE_ROW_BYTES // 1000} kB + {OTHER_BYTES // 2**20} MB) but only {_gb(free)} is free; free some space, "
            "point paths.root_dir at a bigger disk, or lower data.n_samples / data.n_negative / data.n_background",
        )]
    return []

def check_config(
    cfg: DictConfig,
    stages: Sequence[str] | None = None,
    *,
    raise_errors: bool = True,
    check_disk: bool = True,
    fallback: bool = True,
    report: bool = True,
) -> list[Problem]:
    """Check ``cfg`` for the stages that will run (default: ``cfg.stages``).

    Args:
        cfg: the composed ``conf/train.yaml``.
        stages: stages about to run; prerequisites of missing earlier stages are checked.
        raise_errors: raise :class:`ConfigError` with the first error's message (one line).
        check_disk: compare the planned output size with the free space.
        fallback: switch ``trainer.accelerator``/``device`` to ``cpu`` when CUDA is requested
            but absent (one warning).
        report: log each warning (one line each).

    Returns:
        Every problem found, errors first.
    """
    from wakeforge.augment import preflight as augment_preflight
    from wakeforge.core.device import _check_accelerator
    from wakeforge.core.safety import config_problems  # targets, model_name, writable folders, RIRs
    from wakeforge.core.schema import validate
    from wakeforge.evaluation import preflight as evaluation_preflight
    from wakeforge.generation import preflight as generation_preflight
    from wakeforge.training import preflight as training_preflight

    problems: list[Problem] = []
    run_stages, stage_problems = _stages(cfg, stages)
    problems += stage_problems
    try:
        validate(cfg)  # the schema's ranges (types and keys were checked when Hydra composed cfg)
    except ConfigError as exc:
        problems.append(Problem("schema", str(exc)))
    else:
        # The stages' own checks read typed, in-range values: only run them when those passed.
        problems += generation_preflight.problems(cfg, run_stages)
        problems += training_preflight.problems(cfg, run_stages)
        problems += augment_preflight.problems(cfg, run_stages)
        problems += evaluation_preflight.problems(cfg, run_stages)
        problems += [Problem(k, m) for k, m in config_problems(cfg, run_stages)]
        if check_disk:
            problems += _check_disk(cfg, run_stages)
    problems += _check_accelerator(cfg, run_stages, fallback)
    seen: set[str] = set()
    unique = []
    for p in problems:
        if p.message not in seen:
            seen.add(p.message)
            unique.append(p)
    problems = [p for p in unique if p.is_error] + [p for p in unique if not p.is_error]
    if report:
        for p in problems:
            if not p.is_error:
                log.warning(p.message)
    errors = [p for p in problems if p.is_error]
    if errors and raise_errors:
        more = f" (and {len(errors) - 1} more problem(s): `python -m wakeforge.check` with the same overrides lists them)" if len(errors) > 1 else ""
        raise ConfigError(errors[0].message + more)
    return problems
