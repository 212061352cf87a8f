"""Evaluate a wake word model on recordings: recall, false accepts/hour, DET curve, plots.

:func:`evaluate_model` is shared by ``python -m wakeforge.evaluate`` (a user's own recordings)
and the end of training (the held-out ``positive_test`` / ``negative_test`` split). Every file
goes through :class:`~wakeforge.evaluation.streaming.StreamingScorer`, the detector's own 80 ms path.

* A *positive* recording holds one utterance of the wake word; it is detected when its highest
  score reaches the threshold. Recall = detected / positives.
* *Negative* recordings (clips or long files) hold no wake word; every activation (score run
  crossing the threshold, 2 s refractory by default, see :mod:`wakeforge.core.metrics`) is a
  false accept. FA/hour = false accepts / hours of negative audio (the files' own durations,
  not counting the 1 s noise padding on each side). Negatives grouped as near-miss phrases
  (``negative_groups``, :data:`NEAR_MISS_GROUPS`) are clips chosen to sound like the phrase,
  not hours of use: they are counted as "accepted N of M clips" and left out of every per-hour
  figure and of the DET curve.
* The **recommended threshold** is one number chosen by one rule (:func:`recommend_threshold`):
  the lowest threshold at or above the operating ``threshold`` at which the hours of negative
  audio give at most ``target_fa_per_hour``. ``figures`` (:func:`headline_figures`) are the
  model's figures at it; the model card, the training log, W&B and ``report.html`` show them.

Outputs in ``out_dir``: ``metrics.json`` (numbers, worst cases, skipped files), ``det.json``
(the curve), ``det.png``, ``scores_hist.png`` and ``per_file.json``.
"""

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

log = logging.getLogger(__name__)

PathsArg = str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None

#: Seconds of audio before / after a worst case's frame end kept for listening (W&B).
SNIPPET_BEFORE_S = 2.0
SNIPPET_AFTER_S = 0.5
#: Files up to this long are logged whole.
SNIPPET_WHOLE_FILE_S = 4.0
#: A scoring process is started per this many files at most: starting one (imports + ONNX
#: sessions, ~2 s) costs about as much as scoring 50 short clips.
MIN_FILES_PER_WORKER = 50


def expand_audio_paths(paths: PathsArg, what: str = "audio") -> list[Path]:
    """Files and folders (searched recursively for audio) -> sorted unique audio files.

    Args:
        paths: One path or several; folders are searched with
            :func:`wakeforge.audio.io.list_audio_files`.
        what: Used in the error message ("positive", "negative").

    Raises:
        WakeforgeError: A path does not exist.
    """
    from wakeforge.audio.io import list_audio_files

    if paths is None:
        return []
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    seen: set[Path] = set()
    for item in paths:
        p = Path(item).expanduser()
        if p.is_dir():
            files = list_audio_files(p)
        elif p.is_file():
            files = [p]
        else:
            raise WakeforgeError(f"{what} path {p} does not exist; pass existing files or folders")
        for f in files:
            if f not in seen:
                seen.add(f)
                out.append(f)
    return out


def load_noise_bank(paths: PathsArg) -> np.ndarray | None:
    """Concatenate background recordings for SNR mixing (``None`` if no paths).

    Raises:
        WakeforgeError: Paths given but none readable.
    """
    from wakeforge.audio.io import load_audio

    files = expand_audio_paths(paths, "noise")
    if not files:
        if paths:
            raise WakeforgeError("no audio files found in the noise paths; pass WAV/FLAC files")
        return None
    parts = []
    for f in files:
        try:
            parts.append(load_audio(f))
        except AudioError as exc:
            log.warning("skipping noise file: %s", exc)
    if not parts:
        raise WakeforgeError("none of the noise files could be read; pass WAV/FLAC files")
    return np.concatenate(parts)


def _num(x: Any) -> Any:
    """NaN -> None, numpy scalars -> Python (strict JSON)."""
    if x is None:
        return None
    if isinstance(x, (np.floating, float)):
        return None if math.isnan(float(x)) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


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
    thr_target = metrics.threshold_for_target(det, target_fa_per_hour) if neg_hours else None
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


def _n_workers(workers: int, n_files: int) -> int:
    """Processes worth starting: ``workers`` (0 = all cores), none for a handful of files."""
    n = int(workers) if workers and int(workers) > 0 else (os.cpu_count() or 1)
    return max(1, min(n, n_files // MIN_FILES_PER_WORKER))


def _score_one(path: Path, scorer: Any, background: Any, snr_db: float | None) -> Any:
    """FileScores of one file, or the AudioError that makes it unreadable."""
    try:
        return scorer.score_file(path, background=background, snr_db=snr_db)
    except AudioError as exc:
        return exc


_WORKER: dict[str, Any] = {}


def _init_worker(model_path: str, feature_paths: Any, pad_s: float, seed: int,
                 background: Any, snr_db: float | None) -> None:
    from wakeforge.evaluation.streaming import StreamingScorer

    _WORKER.update(scorer=StreamingScorer(model_path, feature_paths, pad_s=pad_s, seed=seed),
                   background=background, snr_db=snr_db)


def _score_in_worker(path: Path) -> Any:
    return _score_one(path, _WORKER["scorer"], _WORKER["background"], _WORKER["snr_db"])


def _by_group(
    neg: list[Any],
    groups: dict[str, str],
    pos_max: np.ndarray,
    threshold: float,
    target_fa_per_hour: float,
    thresholds: Sequence[float] | None,
    refr: int,
) -> dict[str, dict[str, Any]]:
    """Per-group negative metrics (see ``negative_groups`` in :func:`evaluate_model`)."""
    from wakeforge.core import metrics

    by: dict[str, list[Any]] = {}
    for n in neg:
        by.setdefault(groups.get(str(n.path), "other"), []).append(n)
    out: dict[str, dict[str, Any]] = {}
    for name, items in sorted(by.items()):
        streams = [n.scores for n in items]
        hours = sum(n.duration_s for n in items) / 3600.0
        fas = [metrics.count_activations(s, threshold, refr) for s in streams]
        accepted = int(sum(1 for f in fas if f > 0))
        row: dict[str, Any] = {
            "kind": "near-miss clips" if name in NEAR_MISS_GROUPS else "hours",
            "threshold": float(threshold),
            "files": len(items),
            "hours": hours,
            "false_accepts": int(sum(fas)),
            "files_accepted": accepted,
            "accept_rate": _num(accepted / len(items)),
        }
        if name not in NEAR_MISS_GROUPS:  # clips chosen to confuse are not hours of use
            det = metrics.det_curve(pos_max, streams, hours, thresholds, refractory_frames=refr)
            thr = metrics.threshold_for_target(det, target_fa_per_hour)
            row.update({
                "false_accepts_per_hour": _num(sum(fas) / hours) if hours > 0 else None,
                "threshold_at_target": thr,
                "recall_at_target": _num(metrics.recall_at(det, thr)) if pos_max.size else None,
            })
        out[name] = row
    return out


def _by_positive_group(pos: list[Any], groups: dict[str, str], threshold: float) -> dict[str, dict[str, Any]]:
    """Recall per positive group (TTS engine, voice) at ``threshold``."""
    by: dict[str, list[float]] = {}
    for p in pos:
        by.setdefault(groups.get(str(p.path), "other"), []).append(p.max_score)
    return {name: {"files": len(v), "detected": int(sum(1 for x in v if x >= threshold)),
                   "recall": float(np.mean(np.asarray(v) >= threshold)), "threshold": float(threshold)}
            for name, v in sorted(by.items())}


#: Negative groups that are near-miss phrases: reported as clips accepted, never per hour.
NEAR_MISS_GROUPS = ("adversarial",)

#: How the recommended threshold is chosen (card, log, report and summary say this).
THRESHOLD_RULE = ("the lowest threshold >= {floor:g} at which {audio} gives "
                  "<= {target:g} false accepts per hour (every higher threshold too)")


def recommend_threshold(threshold_at_target: float | None, floor: float, *, has_hours: bool) -> tuple[float, bool | None]:
    """The one recommended threshold: ``max(floor, lowest threshold meeting the target)``.

    ``floor`` is the operating threshold (``model.threshold``, ``--threshold``): a small
    held-out set meets a per-hour target at almost any threshold, so the rule never goes
    below it. Returns ``(threshold, target met)``; with no threshold meeting the target the
    floor is returned with ``False``, and with no hours of negative audio ``None``.

    Example:
        >>> recommend_threshold(0.62, 0.5, has_hours=True), recommend_threshold(0.1, 0.5, has_hours=True)
        ((0.62, True), (0.5, True))
        >>> recommend_threshold(None, 0.5, has_hours=True), recommend_threshold(None, 0.5, has_hours=False)
        ((0.5, False), (0.5, None))
    """
    if not has_hours:
        return float(floor), None
    if threshold_at_target is None:
        return float(floor), False
    return float(max(floor, threshold_at_target)), True


def headline_figures(pos_max: np.ndarray, neg_hours: list[Any], near: list[Any], threshold: float,
                     refr: int, target_fa_per_hour: float, target_met: bool | None,
                     floor: float, hours_label: str = "negative recordings") -> dict[str, Any]:
    """The model's figures at ``threshold`` (one definition for card, log, W&B and report).

    * ``recall``: positives whose streaming score reaches the threshold, of all positives;
    * ``false_accepts_per_hour``: activations per hour over the negatives that are hours of
      audio (general speech, background streams; not near-miss phrases);
    * ``near_miss_accepted`` of ``near_miss_clips``: near-miss phrase clips with an activation.
    """
    from wakeforge.core import metrics

    hours = sum(n.duration_s for n in neg_hours) / 3600.0
    fa = int(sum(metrics.count_activations(n.scores, threshold, refr) for n in neg_hours))
    near_acc = int(sum(1 for n in near if metrics.count_activations(n.scores, threshold, refr) > 0))
    detected = int(np.sum(pos_max >= threshold)) if pos_max.size else 0
    return {
        "threshold": float(threshold),
        "threshold_rule": THRESHOLD_RULE.format(floor=floor, target=target_fa_per_hour, audio=hours_label),
        "target_fa_per_hour": float(target_fa_per_hour),
        "target_met": target_met,
        "recall": _num(detected / pos_max.size) if pos_max.size else None,
        "positives_detected": detected,
        "n_positive": int(pos_max.size),
        "false_accepts": fa,
        "false_accepts_per_hour": _num(fa / hours) if hours > 0 else None,
        "hours": hours,
        "hours_of": hours_label,
        "near_miss_accepted": near_acc,
        "near_miss_clips": len(near),
    }


#: The headline figures copied into the card's ``metrics``.
FIGURE_KEYS = ("threshold", "recall", "positives_detected", "n_positive", "false_accepts",
               "false_accepts_per_hour", "hours", "near_miss_accepted", "near_miss_clips", "target_fa_per_hour")


def figure_scalars(res: dict[str, Any], prefix: str = "test") -> dict[str, float]:
    """The figures (and per-group counts) as flat ``{prefix}/name`` scalars for loggers."""
    fig = res["figures"]
    flat = {f"{prefix}/{k}": float(fig[k]) for k in FIGURE_KEYS if isinstance(fig.get(k), (int, float))}
    for g, vals in (res.get("by_group") or {}).items():
        flat.update({f"{prefix}/{g}/{k}": float(v) for k, v in vals.items()
                     if isinstance(v, (int, float)) and not isinstance(v, bool)})
    for g, vals in (res.get("by_positive_group") or {}).items():
        flat[f"{prefix}/positive_{g}/recall"] = float(vals["recall"])
    return flat


def figures_text(fig: dict[str, Any]) -> str:
    """One line of :func:`headline_figures` (the log line and the summary say the same)."""
    rec = "n/a" if fig.get("recall") is None else f"{fig['recall']:.3f}"
    fah = fig.get("false_accepts_per_hour")
    parts = [f"threshold {fig['threshold']:g}",
             f"recall {rec} ({fig['positives_detected']} of {fig['n_positive']} positives)"]
    if fah is not None:
        parts.append(f"{fah:.2f} false accepts/hour ({fig['false_accepts']} in {fig['hours']:.3g} h of {fig.get('hours_of', 'negative audio')})")
    else:
        parts.append("no hours of negative audio to count false accepts per hour")
    if fig.get("near_miss_clips"):
        parts.append(f"accepted {fig['near_miss_accepted']} of {fig['near_miss_clips']} near-miss clips")
    return "; ".join(parts)


def _fa_at(det: dict[str, Any], thr: float | None) -> float | None:
    if thr is None:
        return None
    i = det["thresholds"].index(thr)
    return det["false_accepts_per_hour"][i]


def _write_metrics(result: dict[str, Any], out: Path) -> None:
    from wakeforge.utils.atomic import write_json_atomic

    summary = {k: v for k, v in result.items() if k not in ("det", "pos_max_scores", "per_file")}
    write_json_atomic(out / "metrics.json", summary)


def write_outputs(
    result: dict[str, Any],
    per_file: list[dict[str, Any]],
    neg_streams: list[np.ndarray],
    out_dir: str | os.PathLike[str],
) -> dict[str, str]:
    """Write ``det.json``, ``det.png``, ``scores_hist.png``, ``per_file.json`` into ``out_dir``.

    ``metrics.json`` is written last by :func:`evaluate_model` (it records the run time).
    """
    from wakeforge.evaluation.det import plot_det, plot_score_histogram
    from wakeforge.utils.atomic import write_json_atomic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "metrics": out / "metrics.json",
        "det_json": out / "det.json",
        "det_png": out / "det.png",
        "scores_hist_png": out / "scores_hist.png",
        "per_file": out / "per_file.json",
    }
    write_json_atomic(paths["det_json"], result["det"])
    write_json_atomic(paths["per_file"], per_file)
    title = f"{result['model_name']} ({result['framework']})"
    if result.get("snr_db") is not None:
        title += f", noise at {result['snr_db']:g} dB SNR"
    plot_det(
        result["det"], paths["det_png"], threshold=result["threshold"],
        target_fa_per_hour=result["target_fa_per_hour"],
        threshold_at_target=result.get("recommended_threshold"), title=title,
    )
    neg_all = np.concatenate(neg_streams) if neg_streams else np.zeros(0)
    plot_score_histogram(result["pos_max_scores"], neg_all, paths["scores_hist_png"],
                         threshold=result["threshold"], title=title)
    return {k: str(v) for k, v in paths.items()}


def format_summary(result: dict[str, Any], max_files: int = 12) -> str:
    """A few human-readable lines about an evaluation (for the CLI and logs).

    Per-file lines are added when there are at most ``max_files`` files.
    """

    def f(x: Any, spec: str = ".3f") -> str:
        return "n/a" if x is None else format(x, spec)

    lines = [
        f"model {result['model_name']} ({result['framework']}): {result['model']}",
        f"positives: {result['n_positive']}  recall@{result['threshold']:g} = "
        f"{f(result['recall'])}  ({result['misses']} missed)",
        f"negatives: {result['n_negative_files']} files, {result['negative_hours'] * 3600:.1f} s;"
        f"  false accepts@{result['threshold']:g} = {result['false_accepts']} "
        f"({f(result['false_accepts_per_hour'], '.2f')}/h; openWakeWord frame count "
        f"{result['frame_false_positives']} = "
        f"{f(result['frame_false_positives_per_hour'], '.2f')}/h)",
        f"recommended threshold {result['recommended_threshold']:.4g} ({result['figures']['threshold_rule']}): "
        + figures_text(result["figures"]),
    ]
    per_file = result.get("per_file") or []
    if 0 < len(per_file) <= max_files:
        for r in per_file:
            lines.append(f"  {r['role']:<8} {Path(r['path']).name}: max score {r['max_score']:.4f} "
                         f"at {r['max_time_s']:.2f} s, {r['activations']} activation(s)")
    if result["skipped_files"]:
        lines.append(f"skipped {len(result['skipped_files'])} unreadable files (see metrics.json)")
    if result.get("outputs"):
        lines.append(f"wrote {Path(result['outputs']['metrics']).parent}/"
                     "{metrics.json, det.json, det.png, scores_hist.png, per_file.json}")
    return "\n".join(lines)


def log_to_wandb(result: dict[str, Any], logger: Any = None, prefix: str = "test",
                 max_audio: int = 5) -> bool:
    """Log an evaluation to Weights & Biases if a run is active.

    Scalars (the ``figures``: ``{prefix}/recall``, ``{prefix}/false_accepts_per_hour``,
    ``{prefix}/threshold``, ``{prefix}/near_miss_accepted``, per group), the DET and histogram PNGs
    (``wandb.Image``), the DET points (``wandb.Table``) and audio snippets of the worst false
    accepts and misses (``wandb.Audio``).

    Args:
        result: Output of :func:`evaluate_model` (with ``out_dir`` set, for the PNGs).
        logger: A Lightning ``WandbLogger``, a ``wandb`` run, or ``None`` for ``wandb.run``.
        prefix: Metric key prefix.
        max_audio: Snippets logged per kind.

    Returns:
        True if something was logged, False if wandb is missing or no run is active.
    """
    try:
        import wandb
    except ImportError:
        return False
    run = getattr(logger, "experiment", logger) if logger is not None else wandb.run
    if run is None or not hasattr(run, "log"):
        return False
    from wakeforge.audio.constants import SAMPLE_RATE_HZ
    from wakeforge.audio.io import load_audio

    # The same figures as the card and report: at the recommended threshold.
    payload: dict[str, Any] = dict(figure_scalars(result, prefix))
    outputs = result.get("outputs") or {}
    for key, name in (("det_png", "det"), ("scores_hist_png", "score_histogram")):
        if outputs.get(key) and Path(outputs[key]).is_file():
            payload[f"{prefix}/{name}"] = wandb.Image(outputs[key])
    det = result["det"]
    rows = [[t, r, fa] for t, r, fa in zip(det["thresholds"], det["miss_rate"],
                                           det["false_accepts_per_hour"], strict=True)]
    payload[f"{prefix}/det_table"] = wandb.Table(
        columns=["threshold", "miss_rate", "fa_per_hour"], data=rows)

    def clips(items: list[dict[str, Any]], kind: str) -> list[Any]:
        out = []
        for it in items[:max_audio]:
            try:
                audio = load_audio(it["path"], allow_silent=True)
            except AudioError:
                continue
            a = int(it["start_s"] * SAMPLE_RATE_HZ)
            b = max(a + 1, int(it["end_s"] * SAMPLE_RATE_HZ))
            cap = f"{kind} {Path(it['path']).name} @ {it['time_s']:.2f}s score {it['score']:.3f}"
            out.append(wandb.Audio(audio[a:b], sample_rate=SAMPLE_RATE_HZ, caption=cap))
        return out

    fa_audio = clips([w for w in result["worst_false_accepts"]], "negative")
    miss_audio = clips(result["worst_misses"], "positive")
    if fa_audio:
        payload[f"{prefix}/worst_false_accepts"] = fa_audio
    if miss_audio:
        payload[f"{prefix}/worst_misses"] = miss_audio
    run.log(payload)
    return True
