"""Detection metrics on streaming score sequences: activations, false accepts per hour, DET.

A detector produces one score per 80 ms frame. What a user hears is an *activation*: the
detector fires once when the score crosses the threshold and then stays quiet for a refractory
period. wakeforge therefore counts false accepts as activations (event level). openWakeWord's
trainer counts every frame at or above the threshold (:func:`frame_level_false_positives`); a
single utterance that keeps the score high for 10 frames is then 10 "false positives". Both
figures are reported so the two can be compared.

Activation rule (used by :func:`activation_frames`, the detector CLI and the reports):

* frames with ``score >= threshold`` form *runs* (maximal blocks of consecutive frames);
* each run fires at most once, at its first frame ``f`` with ``f - last >= refractory_frames``,
  where ``last`` is the frame of the previous activation (no condition for the first one);
* so a run that starts inside the refractory period still fires once the period is over if the
  score is still high, and a sustained run never fires twice (the score must drop below the
  threshold to re-arm). ``refractory_frames <= 1`` counts every run.

Example:
    >>> s = np.zeros(200, np.float32); s[50:60] = 0.9
    >>> count_activations(s, 0.5, refractory_frames=25), frame_level_false_positives(s, 0.5)
    (1, 10)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Seconds per score frame (openWakeWord: 1280 samples at 16 kHz).
FRAME_S = 0.08
#: Default refractory period after an activation (seconds).
DEFAULT_REFRACTORY_S = 2.0

ScoreStreams = np.ndarray | Sequence[np.ndarray]


def check_operating_point(threshold: float, refractory_s: float) -> None:
    """The CLI's one-line error for a threshold outside (0, 1] or a negative refractory time
    (shared by ``wakeforge.detect`` and ``wakeforge.evaluate``)."""
    from wakeforge.core.errors import WakeforgeError

    if not 0.0 < threshold <= 1.0:
        raise WakeforgeError(f"--threshold must be in (0, 1], got {threshold}")
    if refractory_s < 0:
        raise WakeforgeError(f"--refractory-s must be >= 0, got {refractory_s}")


def refractory_frames_for(refractory_s: float, frame_s: float = FRAME_S) -> int:
    """Seconds -> whole frames (rounded, so 2.0 s / 0.08 s is 25, not 26).

    Example:
        >>> refractory_frames_for(2.0), refractory_frames_for(0.0)
        (25, 0)
    """
    if refractory_s < 0:
        raise ValueError(f"refractory_s must be >= 0, got {refractory_s}")
    return int(round(float(refractory_s) / float(frame_s)))


def _runs(above: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and end (exclusive) indices of the True runs of a boolean array."""
    edges = np.diff(np.concatenate([[0], above.view(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def activation_frames(scores: np.ndarray, threshold: float, refractory_frames: int) -> np.ndarray:
    """Frames at which a detector with a refractory period fires (rule in the module docstring).

    Args:
        scores: ``[n_frames]`` scores of one continuous stream.
        threshold: Fire when a score is ``>= threshold``.
        refractory_frames: Frames after an activation during which no new one starts.

    Returns:
        ``[n_activations]`` int64 frame indices, ascending.

    Example:
        >>> s = np.zeros(60); s[0:3] = 0.9; s[20:40] = 0.9
        >>> activation_frames(s, 0.5, 25).tolist()    # second run fires when the period ends
        [0, 25]
        >>> activation_frames(s, 0.5, 50).tolist()    # ... or not at all
        [0]
        >>> activation_frames(s, 0.5, 0).tolist()
        [0, 20]
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    starts, ends = _runs(s >= threshold)
    if len(starts) == 0:
        return np.zeros(0, np.int64)
    r = int(refractory_frames)
    if r <= 1 or len(starts) == 1 or np.all(np.diff(starts) >= r):
        return starts.astype(np.int64)
    fired: list[int] = []
    last = -(10**18)
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        f = max(a, last + r)
        if f < b:
            fired.append(f)
            last = f
    return np.asarray(fired, np.int64)


def count_activations(scores: np.ndarray, threshold: float, refractory_frames: int) -> int:
    """Number of activations (events) in one score stream.

    A run of consecutive frames ``>= threshold`` starts one activation; no activation starts
    within ``refractory_frames`` frames after the previous activation's frame; a run that
    outlasts the refractory period fires once when it ends (module docstring has the rule).

    Args:
        scores: ``[n_frames]`` scores of one continuous stream.
        threshold: Score at or above which a frame is "on".
        refractory_frames: Dead time after an activation, in frames (25 = 2 s).

    Returns:
        The number of activations.

    Example:
        >>> s = np.zeros(200); s[50:60] = 0.9          # one 10-frame activation
        >>> count_activations(s, 0.5, 25)
        1
        >>> s[70:72] = 0.8                             # 20 frames later: inside 25, outside 5
        >>> count_activations(s, 0.5, 25), count_activations(s, 0.5, 5)
        (1, 2)
        >>> count_activations(s, 0.95, 25)
        0
    """
    return int(len(activation_frames(scores, threshold, refractory_frames)))


def frame_level_false_positives(scores: ScoreStreams, threshold: float) -> int:
    """Frames with ``score >= threshold`` (openWakeWord's trainer figure, no debounce).

    Example:
        >>> s = np.zeros(200); s[50:60] = 0.9
        >>> frame_level_false_positives(s, 0.5)
        10
    """
    return int(sum(int(np.count_nonzero(np.asarray(x) >= threshold)) for x in _streams(scores)))


def _streams(scores: ScoreStreams) -> list[np.ndarray]:
    """One stream (1-D array) or several (list of 1-D arrays) -> list of float64 arrays."""
    if isinstance(scores, np.ndarray) and scores.ndim == 1:
        return [scores.astype(np.float64, copy=False)]
    return [np.asarray(x, dtype=np.float64).ravel() for x in scores]


def _concat_streams(streams: list[np.ndarray], refractory_frames: int) -> np.ndarray:
    """Join streams with ``-inf`` gaps long enough that no run or refractory period crosses."""
    gap = np.full(max(int(refractory_frames), 1), -np.inf)
    parts: list[np.ndarray] = []
    for x in streams:
        if parts:
            parts.append(gap)
        parts.append(x)
    return np.concatenate(parts) if parts else np.zeros(0)


def false_accepts_per_hour(
    scores: ScoreStreams,
    threshold: float,
    frame_s: float = FRAME_S,
    refractory_s: float = DEFAULT_REFRACTORY_S,
    hours: float | None = None,
) -> float:
    """Activations per hour of negative audio.

    Args:
        scores: One stream ``[n_frames]`` or a list of streams (one per file; counted
            separately, so a refractory period never spans two files).
        threshold: Activation threshold.
        frame_s: Seconds per frame.
        refractory_s: Dead time after an activation (seconds).
        hours: Hours of audio the scores cover; ``None`` uses ``n_frames * frame_s``.

    Returns:
        Activations per hour (``nan`` when there is no audio).

    Example:
        >>> s = np.zeros(45000); s[100:105] = 0.9; s[9000] = 0.7   # 1 h of frames, 2 events
        >>> false_accepts_per_hour(s, 0.5)
        2.0
    """
    streams = _streams(scores)
    r = refractory_frames_for(refractory_s, frame_s)
    n = sum(count_activations(x, threshold, r) for x in streams)
    if hours is None:
        hours = sum(len(x) for x in streams) * frame_s / 3600.0
    return float(n / hours) if hours > 0 else math.nan


def _max_scores(pos_scores: ScoreStreams) -> np.ndarray:
    if isinstance(pos_scores, np.ndarray) and pos_scores.ndim == 1:
        return pos_scores.astype(np.float64, copy=False)
    return np.asarray(
        [float(np.max(x)) if np.size(x) else -np.inf for x in pos_scores], dtype=np.float64
    )


def recall(pos_scores: ScoreStreams, threshold: float) -> float:
    """Fraction of positive recordings detected (max score ``>= threshold``).

    Args:
        pos_scores: Per-recording max scores ``[n]``, or a list of per-recording streams.
        threshold: Detection threshold.

    Returns:
        Recall in [0, 1]; ``nan`` with no positives.

    Example:
        >>> recall(np.array([0.9, 0.2, 0.6, 0.5]), 0.5)
        0.75
        >>> recall([np.array([0.1, 0.7]), np.array([0.3])], 0.5)
        0.5
    """
    m = _max_scores(pos_scores)
    return float(np.mean(m >= threshold)) if len(m) else math.nan


def default_thresholds() -> np.ndarray:
    """Threshold grid for DET curves: 0.005 ... 0.995 in steps of 0.005, then 0.997 ... 0.99999.

    Example:
        >>> t = default_thresholds(); len(t), float(t[0]), float(t[-1])
        (204, 0.005, 0.99999)
    """
    coarse = np.round(np.arange(1, 200) * 0.005, 6)
    fine = np.array([0.997, 0.998, 0.999, 0.9999, 0.99999])
    return np.unique(np.concatenate([coarse, fine]))


def det_curve(
    pos_max_scores: np.ndarray | Sequence[float],
    neg_score_streams: ScoreStreams,
    hours: float,
    thresholds: np.ndarray | Sequence[float] | None = None,
    *,
    refractory_frames: int | None = None,
    frame_s: float = FRAME_S,
) -> dict[str, Any]:
    """Miss rate and false accepts per hour over a grid of thresholds.

    Args:
        pos_max_scores: ``[n_pos]`` max score of each positive recording.
        neg_score_streams: Score streams of the negative recordings (one array per file, or
            one array).
        hours: Hours of negative audio (unpadded durations).
        thresholds: Ascending grid; ``None`` uses :func:`default_thresholds`.
        refractory_frames: Activation dead time; ``None`` = 2 s.
        frame_s: Seconds per frame.

    Returns:
        JSON-ready dict with lists ``thresholds``, ``recall``, ``miss_rate``,
        ``false_accepts``, ``false_accepts_per_hour``, ``frame_false_positives_per_hour`` (one
        value per threshold) and scalars ``hours``, ``n_positive``, ``refractory_frames``,
        ``frame_s``. Per-hour values are ``None`` when ``hours`` is 0, recall and miss rate
        ``None`` when there are no positives.

    Example:
        >>> neg = [np.r_[np.zeros(40), 0.8 * np.ones(5), np.zeros(40)]]
        >>> d = det_curve(np.array([0.9, 0.6]), neg, hours=0.5, thresholds=[0.5, 0.7, 0.85])
        >>> d["miss_rate"], d["false_accepts_per_hour"]
        ([0.0, 0.5, 0.5], [2.0, 2.0, 0.0])
    """
    thr = np.asarray(default_thresholds() if thresholds is None else thresholds, np.float64)
    if thr.ndim != 1 or len(thr) == 0:
        raise ValueError("thresholds must be a non-empty 1-D sequence")
    if np.any(np.diff(thr) < 0):
        raise ValueError("thresholds must be ascending")
    r = refractory_frames_for(DEFAULT_REFRACTORY_S, frame_s) if refractory_frames is None else int(
        refractory_frames
    )
    pos = _max_scores(pos_max_scores)
    joined = _concat_streams(_streams(neg_score_streams), r)
    neg_max = float(joined.max()) if len(joined) else -np.inf
    fas: list[int] = []
    frames: list[int] = []
    for t in thr.tolist():
        if t > neg_max:
            fas.append(0)
            frames.append(0)
            continue
        fas.append(count_activations(joined, t, r))
        frames.append(int(np.count_nonzero(joined >= t)))
    rec = [float(np.mean(pos >= t)) if len(pos) else None for t in thr.tolist()]
    per_h = (lambda k: float(k / hours)) if hours > 0 else (lambda k: None)
    return {
        "thresholds": [float(t) for t in thr],
        "recall": rec,
        "miss_rate": [None if x is None else 1.0 - x for x in rec],
        "false_accepts": fas,
        "false_accepts_per_hour": [per_h(k) for k in fas],
        "frame_false_positives_per_hour": [per_h(k) for k in frames],
        "hours": float(hours),
        "n_positive": int(len(pos)),
        "refractory_frames": r,
        "frame_s": float(frame_s),
    }


def allowed_false_accepts(target_fa_per_hour: float, hours: float) -> int:
    """Whole false accepts a per-hour target allows in ``hours`` of audio, rounded up.

    A held-out set shorter than ``1 / target`` hours cannot tell 0.5 false accepts an hour
    from 3: requiring zero in it makes the threshold the score of the single worst sentence
    (one synthetic sentence set a "smart mirror" card at 0.955 while the next scored 0.33).
    Rounding up lets one through, which the target rate itself gives such a set now and then
    (Poisson: about 13 % of 0.29 h sets at 0.5 an hour hold one); long sets gain at most one.

    Example:
        >>> allowed_false_accepts(0.5, 0.29), allowed_false_accepts(0.5, 10.0), allowed_false_accepts(0.0, 5.0)
        (1, 5, 0)
    """
    if target_fa_per_hour <= 0 or hours <= 0:
        return 0
    return int(math.ceil(target_fa_per_hour * hours - 1e-9))


def threshold_for_count(det: dict[str, Any], max_false_accepts: int) -> float | None:
    """Lowest threshold of a DET curve at and above which at most ``max_false_accepts`` occur.

    The count version of :func:`threshold_for_target` (see :func:`allowed_false_accepts`).

    Example:
        >>> det = {"thresholds": [0.1, 0.5, 0.9], "false_accepts": [9, 1, 0]}
        >>> threshold_for_count(det, 1), threshold_for_count(det, 0)
        (0.5, 0.9)
    """
    return _lowest_passing(det["thresholds"], det.get("false_accepts"), max_false_accepts)


def _lowest_passing(thresholds: Sequence[float], values: Sequence[float | None] | None,
                    limit: float) -> float | None:
    """Lowest threshold at and above which every value stays ``<= limit`` (None: none does)."""
    thr = list(thresholds)
    if not thr or values is None or any(v is None for v in values):
        return None
    best: float | None = None
    for t, v in zip(reversed(thr), reversed(list(values)), strict=True):
        if v > limit:
            break
        best = float(t)
    return best


def threshold_for_target(det: dict[str, Any], target_fa_per_hour: float) -> float | None:
    """Lowest threshold of a DET curve at and above which FA/hour stays ``<= target``.

    Lower thresholds give more recall, so this is the most sensitive setting that meets the
    target. The check runs over every higher threshold too, because event counts are not
    strictly monotone (a higher threshold can split one run into two activations).

    Args:
        det: Output of :func:`det_curve`.
        target_fa_per_hour: Allowed false accepts per hour.

    Returns:
        The threshold, or ``None`` when no threshold meets the target (or there was no
        negative audio).

    Example:
        >>> det = {"thresholds": [0.1, 0.5, 0.9], "false_accepts_per_hour": [9.0, 0.4, 0.0]}
        >>> threshold_for_target(det, 0.5), threshold_for_target(det, 0.0)
        (0.5, 0.9)
    """
    return _lowest_passing(det["thresholds"], det["false_accepts_per_hour"], target_fa_per_hour)


def recall_at(det: dict[str, Any], threshold: float | None) -> float | None:
    """Recall of a DET curve at one of its thresholds (``None`` if absent)."""
    if threshold is None:
        return None
    for t, r in zip(det["thresholds"], det["recall"], strict=True):
        if abs(t - threshold) < 1e-12:
            return r
    return None


class ActivationTracker:
    """The activation rule of :func:`activation_frames`, one frame at a time (live detection).

    Args:
        threshold: Fire when a score is ``>= threshold``.
        refractory_frames: Dead time after an activation, in frames.

    Example:
        >>> s = np.zeros(60); s[0:3] = 0.9; s[20:40] = 0.9
        >>> tr = ActivationTracker(0.5, 25)
        >>> [i for i, x in enumerate(s) if tr.update(x)]
        [0, 25]
    """

    def __init__(self, threshold: float, refractory_frames: int) -> None:
        self.threshold = float(threshold)
        self.refractory_frames = int(refractory_frames)
        self.reset()

    def reset(self) -> None:
        """Forget past activations."""
        self.frame = -1
        self._last: int | None = None
        self._run_fired = False
        self._in_run = False

    def update(self, score: float) -> bool:
        """Feed the next frame's score; True if the detector fires on this frame."""
        self.frame += 1
        if score < self.threshold:
            self._in_run = False
            return False
        if not self._in_run:
            self._in_run = True
            self._run_fired = False
        if self._run_fired:
            return False
        if self._last is not None and self.frame - self._last < max(self.refractory_frames, 1):
            return False
        self._last = self.frame
        self._run_fired = True
        return True


def top_peaks(scores: np.ndarray, n: int, min_separation: int) -> list[tuple[int, float]]:
    """The ``n`` highest local peaks of a stream, at least ``min_separation`` frames apart.

    Example:
        >>> top_peaks(np.array([0, .9, .8, 0, 0, 0, .5, 0]), 2, 3)
        [(1, 0.9), (6, 0.5)]
    """
    s = np.asarray(scores, dtype=np.float64).copy()
    out: list[tuple[int, float]] = []
    sep = max(int(min_separation), 1)
    for _ in range(int(n)):
        if len(s) == 0:
            break
        i = int(np.argmax(s))
        if not np.isfinite(s[i]):
            break
        out.append((i, float(s[i])))
        s[max(0, i - sep + 1) : i + sep] = -np.inf
    return out
