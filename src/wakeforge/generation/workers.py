"""Stage 1's rendering: one clip at a time, in worker processes (or in-process without a pool).

Each worker builds its engines once (:func:`_init_worker`), loads the planner the main process
pickled, then renders ``(split, index)`` tasks (:func:`_work`): synthesise, perturb, trim and
check (:func:`render_clip`), redraw rejected attempts, write the WAV atomically and return the
manifest record. :func:`_run_tasks` hands the tasks out and appends the records in batches.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from wakeforge.audio.constants import SAMPLE_RATE_HZ
from wakeforge.core.layout import clips_dir
from wakeforge.generation.engines import build_engines
from wakeforge.generation.settings import GenerateSettings
from wakeforge.generation.tts.plan import ClipPlanner, ClipSpec
from wakeforge.utils.atomic import Manifest

log = logging.getLogger(__name__)

#: Bump when rendering changes so old clips are redone instead of silently mixed in.
RENDER_VERSION = 1
#: Redraws of a clip that came out too short/long (or failed) before the run gives up.
MAX_ATTEMPTS = 12

#: Math-library thread pools capped in workers: each worker is one process on one core; a BLAS
#: pool per worker (OpenBLAS starts one spinning thread per core) would oversubscribe the cores.
_WORKER_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _start_pool(s: GenerateSettings, workers: int) -> Any:
    # Spawned children read the environment at start-up, before numpy loads its BLAS.
    saved = {k: os.environ.get(k) for k in _WORKER_THREAD_ENV}
    for k in _WORKER_THREAD_ENV:
        os.environ.setdefault(k, "1")
    try:
        return mp.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=(s,))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class _WorkerContext:
    settings: GenerateSettings
    engines: dict[str, Any]
    planner: ClipPlanner | None = None
    planner_path: str = ""


_CTX: _WorkerContext | None = None


def _init_worker(settings: GenerateSettings, warm_up: bool = True) -> None:
    """Build the engines and load their first model, while the main process is still planning."""
    global _CTX
    engines = build_engines(settings, warn=False)
    _CTX = _WorkerContext(settings, engines)
    if warm_up:
        for eng in engines.values():
            warm = getattr(eng, "warm_up", None)
            if warm is not None:
                try:
                    warm()
                except Exception:
                    log.debug("warm-up of %s failed", getattr(eng, "name", eng), exc_info=True)
        from wakeforge.generation.tts.perturb import warm_up as warm_up_perturb

        warm_up_perturb()


def _worker_planner(path: str) -> ClipPlanner:
    """The planner the main process pickled to ``path`` (loaded once per worker)."""
    assert _CTX is not None, "worker not initialised"
    if _CTX.planner is None or _CTX.planner_path != path:
        with open(path, "rb") as fh:
            _CTX.planner = pickle.load(fh)
        _CTX.planner_path = path
    return _CTX.planner


def render_clip(
    spec: ClipSpec, engines: Mapping[str, Any], min_s: float, max_s: float
) -> tuple[np.ndarray | None, float]:
    """Synthesise, perturb, trim and check one clip -> ``(int16 audio or None, duration_s)``."""
    from wakeforge.generation.tts.base import BaseVoice, Prosody
    from wakeforge.generation.tts.perturb import (
        apply_pseudo_speaker,
        dither_to_int16,
        normalize_peak,
        trim_silence,
    )

    engine = engines[spec.engine]
    voice = BaseVoice(spec.engine, spec.voice, spec.speaker, spec.accent)
    prosody = Prosody(spec.noise_scale, spec.synth_length_scale, spec.noise_w_scale)
    audio, sr = engine.synthesize(spec.text, voice, prosody, spec.seed)
    if audio.size == 0:
        return None, 0.0
    y = apply_pseudo_speaker(
        audio, sr, pitch_semitones=spec.pitch_semitones, formant_warp=spec.formant_warp
    )
    y = trim_silence(y, SAMPLE_RATE_HZ)
    dur = len(y) / SAMPLE_RATE_HZ
    if not (min_s <= dur <= max_s) or not np.all(np.isfinite(y)):
        return None, dur
    pcm = dither_to_int16(normalize_peak(y), np.random.default_rng(spec.seed))
    return pcm, dur


def _record(spec: ClipSpec, spec_id: str, pcm: np.ndarray, rejected: int) -> dict[str, Any]:
    return {
        "key": spec.key,
        "file": f"{spec.key}.wav",
        "split": spec.split,
        "source": "synthetic",
        "kind": spec.kind,
        "text": spec.text,
        "engine": spec.engine,
        "voice": spec.voice,
        "speaker": spec.speaker,
        "accent": spec.accent,
        "voice_setting": spec.voice_setting,
        "prosody": {
            "noise_scale": spec.noise_scale,
            "length_scale": spec.length_scale,
            "noise_w_scale": spec.noise_w_scale,
        },
        "perturbation": {
            "pitch_semitones": spec.pitch_semitones,
            "formant_warp": spec.formant_warp,
            "tempo": spec.tempo,
        },
        "synth_length_scale": spec.synth_length_scale,
        "duration_s": round(len(pcm) / SAMPLE_RATE_HZ, 4),
        "num_samples": len(pcm),
        "attempt": spec.attempt,
        "rejected": int(rejected),
        "spec_id": spec_id,
    }


def _work(task: tuple[str, int, str, str]) -> dict[str, Any]:
    """Render clip ``(split, index)``, redrawing rejected attempts; writes the WAV atomically."""
    from wakeforge.audio.io import write_wav

    assert _CTX is not None, "worker not initialised"
    split, index, spec_id, planner_path = task
    s = _CTX.settings
    planner = _worker_planner(planner_path)
    if not spec_id:  # fresh split: the main process left the fingerprint to the worker
        spec = planner.spec(split, index, 0)
        spec_id = spec.fingerprint(_fingerprint_extra(s, spec.engine))
    reasons: Counter[str] = Counter()
    for attempt in range(MAX_ATTEMPTS):
        spec = planner.spec(split, index, attempt)
        try:
            pcm, dur = render_clip(spec, _CTX.engines, s.min_clip_duration_s, s.max_clip_duration_s)
        except Exception as exc:  # noqa: BLE001 - an engine failing on one text must not stop the run
            reasons[f"error: {type(exc).__name__}: {exc}"[:200]] += 1
            continue
        if pcm is None:
            reasons["too short" if dur < s.min_clip_duration_s else "too long"] += 1
            continue
        write_wav(clips_dir(s.work_dir, split) / f"{spec.key}.wav", pcm, SAMPLE_RATE_HZ)
        return {
            "ok": True,
            "record": _record(spec, spec_id, pcm, attempt),
            "reasons": dict(reasons),
        }
    return {"ok": False, "split": split, "index": index, "reasons": dict(reasons)}


def _fingerprint_extra(s: GenerateSettings, engine: str = "") -> dict[str, Any]:
    """Settings outside the clip plan that still shape a clip (part of its ``spec_id``).

    Engine settings enter only the fingerprints of that engine's clips (a new Kokoro pace
    redoes the Kokoro clips and keeps the rest); at their defaults they are left out, so the
    clips of runs made before the setting existed keep their fingerprints.
    """
    extra: dict[str, Any] = {
        "render_version": RENDER_VERSION,
        "min_s": s.min_clip_duration_s,
        "max_s": s.max_clip_duration_s,
    }
    if engine == "kokoro" and s.kokoro_rate != 1.0:
        extra["kokoro_rate"] = s.kokoro_rate
    return extra


def _run_tasks(
    tasks: list[tuple[str, int, str, str]],
    s: GenerateSettings,
    planner: ClipPlanner,
    planner_path: str,
    pool: Any,
    manifests: Mapping[str, Manifest],
) -> Iterable[dict[str, Any]]:
    """Render ``tasks`` (in-process without a pool); append manifest records in batches."""
    from wakeforge.utils.console import ProgressLine

    # A bar on a terminal, a line every 20 s in a log file.
    bar = ProgressLine(len(tasks), "generate", "clip", enabled=s.progress)
    pending: dict[str, list[dict[str, Any]]] = {split: [] for split in manifests}
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal last_flush
        for split, recs in pending.items():
            if recs:
                manifests[split].extend(recs)
                recs.clear()
        last_flush = time.monotonic()

    def results() -> Iterable[dict[str, Any]]:
        if pool is None:
            _init_worker(s, warm_up=False)
            assert _CTX is not None
            _CTX.planner, _CTX.planner_path = planner, planner_path
            for t in tasks:
                yield _work(t)
            return
        # Small chunks: a clip takes ~0.1 s, so handing them out two at a time costs nothing
        # and no worker sits idle at the end while another finishes a long chunk.
        yield from pool.imap_unordered(_work, tasks, chunksize=2)

    try:
        for res in results():
            if res["ok"]:
                rec = res["record"]
                pending[rec["split"]].append(rec)
            if time.monotonic() - last_flush > 0.5 or sum(map(len, pending.values())) >= 64:
                flush()
            bar.update(1)
            yield res
    finally:
        flush()
        bar.close()
