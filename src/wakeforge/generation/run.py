"""Stage 1, generate: phrase -> text -> speech clips in ``{work_dir}/{positive,negative}_{train,test}/``.

``generate_clips(GenerateSettings)`` is the library entry; ``run_generate(cfg)`` adapts the
Hydra config (used by ``python -m wakeforge.generate`` and the ``generate`` step of
``python -m wakeforge.train``).

How a run works:

* **Plan.** Every clip is identified by ``(split, index)``. Its text, engine, voice setting,
  prosody and pseudo-speaker values are drawn from ``numpy.random.default_rng([seed, split,
  index, attempt])`` by :class:`ClipPlanner`, so a rerun or another shard plans the same clip.
  Test splits draw only from held-out voice settings (:func:`~wakeforge.generation.tts.voices.split_settings`).
* **Render** (worker processes, one ONNX thread each): synthesise, apply the pseudo-speaker
  (pitch by resampling, formant warp, tempo via the engine's length scale), trim leading and
  trailing silence, check the length. A clip outside ``[min_clip_duration_s,
  max_clip_duration_s]`` is dropped and redrawn as attempt 1, 2, ... (counted and reported),
  so each split ends with exactly the requested number of clips.
* **Write.** Each WAV (16 kHz mono 16-bit, dithered, never padded) lands by atomic rename; then
  the main process appends its record to the split's ``manifest.jsonl``. A rerun keeps a clip
  only if its record, its file (whole, with the recorded length) and its plan (``spec_id``)
  all agree, and redoes the rest. Stray temp files and clips no longer planned are removed.
* **Shards.** ``shard=(i, n)`` renders every n-th clip; each shard appends to its own
  ``manifest.shard{i}of{n}.jsonl``. A later unsharded run (e.g. ``python -m wakeforge.train``)
  merges them into ``manifest.jsonl`` and renders only what is missing.

The pieces live next to this module: :mod:`~wakeforge.generation.settings` (the settings and
their checks), :mod:`~wakeforge.generation.engines`, :mod:`~wakeforge.generation.workers`
(rendering in worker processes) and :mod:`~wakeforge.generation.report`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import re
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from wakeforge.core.layout import CLIP_SPLITS, clips_dir
from wakeforge.core.errors import WakeforgeError
from wakeforge.generation.engines import build_engines
from wakeforge.generation.report import REPORT_NAME, GenerateReport, _report
from wakeforge.generation.settings import GenerateSettings, parse_shard, resolve_workers
from wakeforge.generation.tts.manifests import (
    manifest_name,
    process_real,
    real_recordings,
    real_spec_id,
    reconcile_split,
)
from wakeforge.generation.tts.plan import ClipPlanner, ClipSpec, build_planner
from wakeforge.generation.workers import (
    MAX_ATTEMPTS,
    RENDER_VERSION,
    _fingerprint_extra,
    _run_tasks,
    _start_pool,
    render_clip,
)
from wakeforge.utils.atomic import Manifest, write_json_atomic

log = logging.getLogger(__name__)

#: Temp-file prefix of the pickled planner that workers read (``<prefix><pid>-<random>.pkl``).
PLANNER_PREFIX = "wakeforge-planner-"


def _has_records(split_dir: Path) -> bool:
    return any(m.stat().st_size > 0 for m in split_dir.glob("manifest*.jsonl"))


def _tasks_for(
    planner: ClipPlanner, s: GenerateSettings, work_dir: Path
) -> dict[str, dict[str, str]]:
    """``{split: {key: spec_id}}`` for every planned synthetic clip (all shards).

    A split without manifest records has nothing to reconcile, so its ids are left empty
    (``""``) and each worker fingerprints its own clips: planning every spec twice in the main
    process would keep the workers waiting at the start of a fresh run (~0.35 ms a clip).
    """
    extras = {e: _fingerprint_extra(s, e) for e in ("", "kokoro")}
    planned: dict[str, dict[str, str]] = {}
    for split, n in s.counts().items():
        if not _has_records(clips_dir(work_dir, split)):
            planned[split] = {f"{i:06d}": "" for i in range(n)}
            continue
        planned[split] = {}
        for i in range(n):
            spec = planner.spec(split, i, 0)
            planned[split][spec.key] = spec.fingerprint(extras["kokoro" if spec.engine == "kokoro" else ""])
    return planned


def generate_clips(s: GenerateSettings) -> GenerateReport:
    """Run stage 1 and return its report (see the module docstring)."""
    t0 = time.perf_counter()
    s.validate()
    work_dir = Path(s.work_dir)
    n_workers = resolve_workers(s.num_workers)
    pool = None
    if n_workers > 1 and not (work_dir / REPORT_NAME).exists():
        # Fresh run: start the workers now so they import and load voices while we plan.
        pool = _start_pool(s, n_workers)
    _remove_orphan_planners()
    fd, planner_path = tempfile.mkstemp(prefix=f"{PLANNER_PREFIX}{os.getpid()}-", suffix=".pkl")
    os.close(fd)
    try:
        return _generate(s, work_dir, pool, n_workers, planner_path, t0)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        with contextlib.suppress(OSError):
            os.unlink(planner_path)


def _remove_orphan_planners() -> None:
    """Delete planner files left in the temp folder by killed runs (their process is gone)."""
    for path in Path(tempfile.gettempdir()).glob(f"{PLANNER_PREFIX}*.pkl"):
        m = re.match(rf"{PLANNER_PREFIX}(\d+)-", path.name)
        if not m:
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                path.unlink()
        except OSError:  # alive but not ours (EPERM): keep
            continue


def _warn_unweighted(s: GenerateSettings, engines: Mapping[str, Any]) -> None:
    """One warning per configured engine that weighs 0 in both mixes while another weighs more."""
    mixes = [s.engine_weights, s.general_engine_weights or s.engine_weights,
             s.positive_engine_weights or s.engine_weights]
    for name in engines:
        if all(m.get(name, 1.0) <= 0 for m in mixes) and any(
            m.get(other, 1.0) > 0 for m in mixes for other in engines if other != name
        ):
            log.warning(
                "tts.engines has %s but it weighs 0 in tts.engine_weights, "
                "tts.general_engine_weights and tts.positive_engine_weights, so it makes no clips; give it a weight, e.g. "
                "'tts.engine_weights={..., %s: 0.3}'",
                name,
                name,
            )


def _generate(
    s: GenerateSettings, work_dir: Path, pool: Any, n_workers: int, planner_path: str, t0: float
) -> GenerateReport:
    engines = build_engines(s)
    _warn_unweighted(s, engines)
    planner = build_planner(s, engines)
    with open(planner_path, "wb") as fh:
        pickle.dump(planner, fh, protocol=pickle.HIGHEST_PROTOCOL)
    planned = _tasks_for(planner, s, work_dir)
    reals = real_recordings(s.positive_paths)
    real_ids = {
        key: real_spec_id(path, RENDER_VERSION, s.min_clip_duration_s, s.max_clip_duration_s)
        for key, path, _ in reals
    }
    for key, _, split in reals:
        planned[split][key] = real_ids[key]

    done: dict[str, dict[str, dict[str, Any]]] = {}
    for split in CLIP_SPLITS:
        done[split] = reconcile_split(clips_dir(work_dir, split), planned[split], s.shard)

    shard_i, shard_n = s.shard or (0, 1)
    order = [(split, key) for split in CLIP_SPLITS for key in planned[split]]
    mine = [(split, key) for j, (split, key) in enumerate(order) if j % shard_n == shard_i]
    todo = [(split, key) for split, key in mine if key not in done[split]]
    skipped = len(mine) - len(todo)
    manifests = {
        split: Manifest(clips_dir(work_dir, split) / manifest_name(s.shard))
        for split in CLIP_SPLITS
    }

    real_todo = [(split, key) for split, key in todo if key.startswith("real_")]
    synth_todo = [
        (split, int(key), planned[split][key], planner_path)
        for split, key in todo
        if not key.startswith("real_")
    ]
    real_by_key = {k: (p, sp) for k, p, sp in reals}
    for split, key in real_todo:
        path, _ = real_by_key[key]
        rec = process_real(
            key,
            path,
            clips_dir(work_dir, split),
            text=s.phrases[0],
            min_s=s.min_clip_duration_s,
            max_s=s.max_clip_duration_s,
            spec_id=real_ids[key],
        )
        if rec is not None:
            manifests[split].append(rec)
            done[split][key] = rec

    workers = min(n_workers, max(1, len(synth_todo)))
    if pool is not None and workers <= 1:
        pool.terminate()
        pool.join()
        pool = None
    if pool is None and workers > 1 and synth_todo:
        pool = _start_pool(s, workers)
    generated, rejected = 0, 0
    reasons: Counter[str] = Counter()
    failed: list[tuple[str, int]] = []
    if synth_todo:
        log.info(
            "generating %d clips (%d already done) with %d worker(s)%s",
            len(synth_todo),
            skipped,
            workers,
            f", shard {shard_i}/{shard_n}" if s.shard else "",
        )
        try:
            for res in _run_tasks(synth_todo, s, planner, planner_path, pool, manifests):
                reasons.update(res["reasons"])
                if res["ok"]:
                    rec = res["record"]
                    done[rec["split"]][rec["key"]] = rec
                    generated += 1
                    rejected += int(rec["rejected"])
                else:
                    failed.append((res["split"], res["index"]))
                    rejected += sum(res["reasons"].values())
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
    if failed:
        top = ", ".join(f"{k} x{v}" for k, v in reasons.most_common(3))
        raise WakeforgeError(
            f"{len(failed)} clip(s) could not be made within {MAX_ATTEMPTS} attempts ({top}); "
            "widen data.min_clip_duration_s/max_clip_duration_s or check the voices, then rerun"
        )
    if rejected:
        log.info(
            "dropped %d clips outside %.2f-%.2f s and redrew them",
            rejected,
            s.min_clip_duration_s,
            s.max_clip_duration_s,
        )

    elapsed = time.perf_counter() - t0
    report = _report(
        s,
        planner,
        planned,
        done,
        generated,
        skipped,
        rejected,
        reasons,
        workers,
        elapsed,
        len(todo),
    )
    if report.complete:
        write_json_atomic(work_dir / REPORT_NAME, asdict(report))
    return report


def run_generate(cfg: Any) -> GenerateReport:
    """Stage entry used by ``wakeforge.generate`` and ``wakeforge.train``'s generate step."""
    settings = GenerateSettings.from_config(cfg)
    report = generate_clips(settings)
    log.info("generate: %s", report.summary().replace("\n", "; "))
    return report


__all__ = [
    "ClipPlanner",
    "ClipSpec",
    "GenerateReport",
    "GenerateSettings",
    "build_engines",
    "build_planner",
    "generate_clips",
    "parse_shard",
    "render_clip",
    "run_generate",
]
