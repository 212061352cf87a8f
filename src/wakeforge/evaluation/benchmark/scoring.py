"""Scoring the cached streams with one model: its recall, false accepts per hour and DET curve."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.evaluation.benchmark.features import StreamSet
from wakeforge.evaluation.benchmark.suite import DEFAULT_REFRACTORY_S, FA_TARGETS


def score_stream(head: Any, initial: np.ndarray, emb: np.ndarray) -> np.ndarray:
    """Detector scores of one stream of chunk embeddings (the head after a reset).

    Equals ``openwakeword.Model.predict`` called chunk by chunk after ``reset()`` (when its
    start-up buffer is ``initial``), including the 5 zeroed warm-up predictions.
    """
    from wakeforge.evaluation.streaming import WARMUP_FRAMES

    n = len(emb)
    if n == 0:
        return np.zeros(0, np.float32)
    k = head.n_inputs
    full = np.concatenate([initial, emb]).astype(np.float32)
    n_init = len(initial)
    view = np.lib.stride_tricks.sliding_window_view(full, k, axis=0)  # [M, 96, k]
    windows = view[n_init + 1 - k : n_init + 1 - k + n].transpose(0, 2, 1)
    scores = np.asarray(head(windows), np.float32)
    scores[:WARMUP_FRAMES] = 0.0
    return scores


@dataclass
class ModelSpec:
    """A model to benchmark: label, file, phrase (slug; ``None`` = negatives only), threshold."""

    label: str
    path: Path
    phrase: str | None
    card_threshold: float | None = None


def card_for(path: Path) -> dict[str, Any] | None:
    """The wakeforge model card beside a model file (``{stem}.json``), if any and valid."""
    card = path.with_suffix(".json")
    if not card.is_file() or card.stat().st_size > 5_000_000:
        return None
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def thresholds_grid() -> np.ndarray:
    """DET grid: :func:`~wakeforge.core.metrics.default_thresholds` plus finer steps near 1."""
    from wakeforge.core.metrics import default_thresholds

    fine = 1.0 - np.logspace(-2.5, -6, 15)
    return np.unique(np.round(np.concatenate([default_thresholds(), fine]), 8))


def _recall(pos_max: np.ndarray, thr: float | None) -> float | None:
    if thr is None or len(pos_max) == 0:
        return None
    return float(np.mean(pos_max >= thr))


def _fa_h(streams: list[np.ndarray], thr: float, hours: float, refractory_frames: int) -> float | None:
    from wakeforge.core.metrics import count_activations

    if hours <= 0:
        return None
    return float(sum(count_activations(s, thr, refractory_frames) for s in streams) / hours)


def benchmark_model(
    spec: ModelSpec,
    sets: dict[tuple[str, str, float | None], StreamSet],
    initial: np.ndarray,
    *,
    snr_db: float | None,
    refractory_s: float = DEFAULT_REFRACTORY_S,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """All figures of one model on the cached streams."""
    from wakeforge.core.metrics import det_curve, refractory_frames_for, threshold_for_target
    from wakeforge.evaluation.streaming import load_head

    head = load_head(spec.path)
    r = refractory_frames_for(refractory_s)
    t0 = time.perf_counter()
    neg_streams: dict[str, list[np.ndarray]] = {}
    neg_hours: dict[str, float] = {}
    pos_scores: dict[tuple[str, float | None], list[np.ndarray]] = {}
    for (kind, group, snr), ss in sets.items():
        scored = [score_stream(head, initial, e) for e in ss.streams]
        if kind == "negative":
            neg_streams[group] = scored
            neg_hours[group] = ss.hours
        else:
            pos_scores[(group, snr)] = scored
    # other phrases' positives are negatives of this model
    for (group, snr), scored in pos_scores.items():
        if snr is None and group != spec.phrase:
            neg_streams[f"phrase:{group}"] = scored
            neg_hours[f"phrase:{group}"] = sets[("positive", group, None)].hours
    all_neg = [s for v in neg_streams.values() for s in v]
    all_hours = float(sum(neg_hours.values()))
    res: dict[str, Any] = {"label": spec.label, "path": str(spec.path), "phrase": spec.phrase,
                           "threshold": threshold, "refractory_s": refractory_s,
                           "negative_hours": {k: round(v, 4) for k, v in neg_hours.items()}}
    res["false_accepts_per_hour_at_threshold"] = {
        k: _fa_h(v, threshold, neg_hours[k], r) for k, v in neg_streams.items()}
    res["false_accepts_per_hour_all"] = _fa_h(all_neg, threshold, all_hours, r)
    pos = pos_scores.get((spec.phrase, None)) if spec.phrase else None
    if pos is None:
        res["seconds"] = round(time.perf_counter() - t0, 2)
        return res
    pos_max = np.array([float(s.max()) if len(s) else 0.0 for s in pos])
    noisy = pos_scores.get((spec.phrase, snr_db)) if snr_db is not None else None
    noisy_max = (np.array([float(s.max()) if len(s) else 0.0 for s in noisy])
                 if noisy is not None else None)
    det = det_curve(pos_max, all_neg, all_hours, thresholds_grid(), refractory_frames=r)
    res["n_positive"] = int(len(pos_max))
    res["recall_at_threshold"] = _recall(pos_max, threshold)
    if noisy_max is not None:
        res["snr_db"] = snr_db
        res["noisy_recall_at_threshold"] = _recall(noisy_max, threshold)
    res["at_target"] = {}
    for target in FA_TARGETS:
        t = threshold_for_target(det, target)
        entry = {"threshold": t, "recall": _recall(pos_max, t),
                 "false_accepts_per_hour": _fa_h(all_neg, t, all_hours, r) if t is not None else None}
        if noisy_max is not None:
            entry["noisy_recall"] = _recall(noisy_max, t)
        res["at_target"][f"{target:g}"] = entry
    if spec.card_threshold is not None:
        t = float(spec.card_threshold)
        entry = {"threshold": t, "recall": _recall(pos_max, t),
                 "false_accepts_per_hour": _fa_h(all_neg, t, all_hours, r)}
        if noisy_max is not None:
            entry["noisy_recall"] = _recall(noisy_max, t)
        res["at_card_threshold"] = entry
    res["det"] = det
    res["positive_max_scores"] = [round(float(x), 6) for x in pos_max]
    if noisy_max is not None:
        res["noisy_positive_max_scores"] = [round(float(x), 6) for x in noisy_max]
    res["seconds"] = round(time.perf_counter() - t0, 2)
    return res
