""":func:`evaluate_model`: score positive and negative recordings with a model and report."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.core.errors import AudioError, WakeforgeError
from wakeforge.evaluation.report.figures import (NEAR_MISS_GROUPS, _num, headline_figures,
                                                 recommend_threshold)
from wakeforge.evaluation.report.groups import _by_group, _by_positive_group
from wakeforge.evaluation.report.inputs import PathsArg, expand_audio_paths, load_noise_bank
from wakeforge.evaluation.report.outputs import _write_metrics, write_outputs
from wakeforge.evaluation.report.workers import _init_worker, _n_workers, _score_in_worker, _score_one

log = logging.getLogger(__name__)


#: Seconds of audio before / after a worst case's frame end kept for listening (W&B).
SNIPPET_BEFORE_S = 2.0
SNIPPET_AFTER_S = 0.5
#: Files up to this long are logged whole.
SNIPPET_WHOLE_FILE_S = 4.0


def evaluate_model(
    model_path: str | os.PathLike[str],
    positive_paths: PathsArg,
    negative_paths: PathsArg,
    threshold: float = 0.5,
    target_fa_per_hour: float = 0.5,
    refractory_s: float = 2.0,
    snr_db: float | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    feature_paths: Any = None,
    noise_paths: PathsArg = None,
    thresholds: Sequence[float] | None = None,
    n_worst: int = 5,
    seed: int = 0,
    pad_s: float = 1.0,
    negative_groups: dict[str, str] | None = None,
    workers: int = 1,
    positive_groups: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Score positive and negative recordings with a model and report detection metrics.

    Args:
        model_path: ``.onnx`` or ``.tflite`` wake word head.
        positive_paths: Files/folders, one utterance of the wake word per file.
        negative_paths: Files/folders without the wake word (clips or long recordings).
        threshold: Operating threshold for recall and FA/hour.
        target_fa_per_hour: FA/hour the suggested threshold must meet.
        refractory_s: Dead time after an activation (seconds).
        snr_db: Mix background noise into every file at this SNR (``None``: no mixing).
        out_dir: Folder for ``metrics.json``, ``det.json``, ``det.png``, ``scores_hist.png``,
            ``per_file.json``; ``None`` writes nothing.
        feature_paths: Feature model paths (``None``: the verified cache).
        noise_paths: Background recordings for ``snr_db`` (``None``: pink noise).
        thresholds: Ascending DET grid (``None``:
            :func:`~wakeforge.core.metrics.default_thresholds`).
        n_worst: How many worst false accepts and misses to return.
        seed: Seed for padding/mixing noise and the detector's start-up noise.
        pad_s: Seconds of low noise around each file (the detector needs context).
        negative_groups: Optional ``{negative file path: group}`` (e.g. ``general`` /
            ``adversarial`` from stage 1's manifest): adds ``by_group`` with each group's
            false accepts, FA/hour, share of files accepted, and the recall at the lowest
            threshold that keeps that group within ``target_fa_per_hour``.
        workers: Processes that score files side by side (``0``: all cores). Each file is
            scored exactly as with one process (same seeds), so results do not depend on it.

    Returns:
        JSON-ready dict: ``recall``, ``false_accepts``, ``false_accepts_per_hour``,
        ``frame_false_positives`` (openWakeWord's count) and ``..._per_hour``,
        ``threshold_at_target`` with ``recall_at_target``, ``negative_hours``, counts,
        ``worst_false_accepts`` / ``worst_misses`` (lists of ``{path, time_s, score,
        start_s, end_s}``: the frame's end time and the audio span worth listening to),
        ``skipped_files``, ``det`` (the curve), ``pos_max_scores``, ``per_file`` (max score,
        activations per file) and ``outputs`` (written files).

    Raises:
        WakeforgeError: No readable positive or negative audio, or a missing path.
    """
    from wakeforge.core import metrics
    from wakeforge.evaluation.streaming import FRAME_S, StreamingScorer

    t0 = time.perf_counter()
    pos_files = expand_audio_paths(positive_paths, "positive")
    neg_files = expand_audio_paths(negative_paths, "negative")
    if not pos_files and not neg_files:
        raise WakeforgeError(
            "no audio to evaluate: pass --positive and/or --negative files or folders "
            "(WAV, FLAC, OGG, ...)"
        )
    background = load_noise_bank(noise_paths) if snr_db is not None else None
    scorer = StreamingScorer(model_path, feature_paths, pad_s=pad_s, seed=seed)
    refr = metrics.refractory_frames_for(refractory_s, FRAME_S)

    skipped: list[dict[str, str]] = []
    per_file: list[dict[str, Any]] = []

    n_workers = _n_workers(workers, len(pos_files) + len(neg_files))
    pool = None
    if n_workers > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        # One detector per process (onnxruntime sessions are pinned to one thread each);
        # spawn, not fork: the parent may hold torch/Lightning threads.
        pool = ProcessPoolExecutor(
            n_workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
            initargs=(str(model_path), feature_paths, pad_s, seed, background, snr_db),
        )

    def results(files: list[Path]) -> Iterable[Any]:
        if pool is None:
            for f in files:
                yield _score_one(f, scorer, background, snr_db)
        else:
            yield from pool.map(_score_in_worker, files, chunksize=max(1, min(32, len(files) // (8 * n_workers))))

    def score(files: list[Path], role: str) -> list[Any]:
        out = []
        last = time.perf_counter()
        for i, (f, fs) in enumerate(zip(files, results(files), strict=True)):
            if isinstance(fs, AudioError):
                log.warning("skipping %s file: %s", role, fs)
                skipped.append({"path": str(f), "reason": str(fs)})
                continue
            out.append(fs)
            acts = metrics.activation_frames(fs.scores, threshold, refr)
            per_file.append({
                "path": str(f),
                "role": role,
                "duration_s": round(fs.duration_s, 3),
                "max_score": round(fs.max_score, 6),
                "max_time_s": round(fs.argmax_time_s, 3),
                "activations": len(acts),
                "activation_times_s": [round(float(fs.times_s[a]), 3) for a in acts],
            })
            if time.perf_counter() - last > 30:
                last = time.perf_counter()
                log.info("scored %d/%d %s files", i + 1, len(files), role)
        return out

    try:
        pos = score(pos_files, "positive")
        neg = score(neg_files, "negative")
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if not pos and not neg:
        raise WakeforgeError("none of the audio files could be read; see the warnings above")

    pos_max = np.array([p.max_score for p in pos], np.float64)
    # Near-miss phrases are clips chosen to sound like the phrase, not hours of use: they are
    # counted as clips accepted, and only the other negatives give false accepts per hour.
    groups = {str(k): v for k, v in (negative_groups or {}).items()}
    near = [n for n in neg if groups.get(str(n.path)) in NEAR_MISS_GROUPS]
    neg_hours = [n for n in neg if groups.get(str(n.path)) not in NEAR_MISS_GROUPS]
    neg_streams = [n.scores for n in neg_hours]
    hours = sum(n.duration_s for n in neg_hours) / 3600.0
    det = metrics.det_curve(pos_max, neg_streams, hours, thresholds, refractory_frames=refr)
    # The target as a whole count over the held-out hours, rounded up (metrics.allowed_false_accepts).
    thr_target = (metrics.threshold_for_count(det, metrics.allowed_false_accepts(target_fa_per_hour, hours))
                  if neg_hours else None)
    rec_thr, target_met = recommend_threshold(thr_target, threshold, has_hours=bool(neg_hours))

    n_fa = sum(metrics.count_activations(s, threshold, refr) for s in neg_streams)
    n_frames_fp = metrics.frame_level_false_positives(neg_streams, threshold) if neg_hours else 0
    rec = metrics.recall(pos_max, threshold) if pos else math.nan

    def span(t: float, dur: float) -> tuple[float, float]:
        if dur <= SNIPPET_WHOLE_FILE_S:
            return 0.0, dur
        return max(0.0, t - SNIPPET_BEFORE_S), min(dur, t + SNIPPET_AFTER_S)

    worst_fa: list[dict[str, Any]] = []
    for n in neg:
        for i, sc in metrics.top_peaks(n.scores, n_worst, max(refr, 1)):
            t = float(n.times_s[i])
            a, b = span(t, n.duration_s)
            worst_fa.append({"path": n.path, "time_s": round(t, 3), "score": sc,
                             "group": groups.get(str(n.path), "negative"),
                             "false_accept": bool(sc >= rec_thr),
                             "start_s": round(a, 3), "end_s": round(b, 3)})
    worst_fa = sorted(worst_fa, key=lambda d: -d["score"])[:n_worst]
    worst_miss: list[dict[str, Any]] = []
    for p in sorted(pos, key=lambda p: p.max_score)[:n_worst]:
        t = p.argmax_time_s
        a, b = span(t, p.duration_s)
        worst_miss.append({"path": p.path, "time_s": round(t, 3), "score": p.max_score,
                           "group": (positive_groups or {}).get(str(p.path), "positive"),
                           "detected": bool(p.max_score >= rec_thr),
                           "start_s": round(a, 3), "end_s": round(b, 3)})

    result: dict[str, Any] = {
        "model": str(model_path),
        "model_name": scorer.name,
        "framework": scorer.framework,
        "threshold": float(threshold),
        "target_fa_per_hour": float(target_fa_per_hour),
        "refractory_s": float(refractory_s),
        "snr_db": None if snr_db is None else float(snr_db),
        "n_positive": len(pos),
        "n_negative_files": len(neg),
        "n_near_miss_files": len(near),
        "negative_hours": hours,
        "recall": _num(rec),
        "misses": int(np.sum(pos_max < threshold)) if pos else 0,
        "false_accepts": int(n_fa),
        "false_accepts_per_hour": _num(n_fa / hours) if hours > 0 else None,
        "frame_false_positives": int(n_frames_fp),
        "frame_false_positives_per_hour": _num(n_frames_fp / hours) if hours > 0 else None,
        "threshold_at_target": thr_target,
        "recall_at_target": _num(metrics.recall_at(det, thr_target)),
        "false_accepts_per_hour_at_target": _num(_fa_at(det, thr_target)),
        "recommended_threshold": rec_thr,
        "figures": headline_figures(pos_max, neg_hours, near, rec_thr, refr, target_fa_per_hour,
                                    target_met, floor=threshold,
                                    hours_label="held-out general speech" if negative_groups else "the negative recordings"),
        "worst_false_accepts": worst_fa,
        "worst_misses": worst_miss,
        "skipped_files": skipped,
        "pos_max_scores": [float(x) for x in pos_max],
        "per_file": per_file,
        "det": det,
        "seconds": 0.0,
        "outputs": {},
    }
    if negative_groups:
        result["by_group"] = _by_group(
            neg, groups, pos_max, rec_thr, target_fa_per_hour, thresholds, refr
        )
    if positive_groups:
        result["by_positive_group"] = _by_positive_group(pos, positive_groups, rec_thr)
    if out_dir is not None:
        result["outputs"] = write_outputs(result, per_file, neg_streams, out_dir)
    result["seconds"] = round(time.perf_counter() - t0, 3)
    if out_dir is not None:
        _write_metrics(result, Path(out_dir))
    return result


def _fa_at(det: dict[str, Any], thr: float | None) -> float | None:
    if thr is None:
        return None
    i = det["thresholds"].index(thr)
    return det["false_accepts_per_hour"][i]
