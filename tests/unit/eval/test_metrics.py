"""Event-level activations, FA/hour and DET on hand-built score sequences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wakeforge.core.metrics import (
    ActivationTracker,
    activation_frames,
    allowed_false_accepts,
    count_activations,
    default_thresholds,
    det_curve,
    false_accepts_per_hour,
    frame_level_false_positives,
    recall,
    refractory_frames_for,
    threshold_for_count,
    threshold_for_target,
    top_peaks,
)


def seq(n: int, *runs: tuple[int, int, float]) -> np.ndarray:
    s = np.zeros(n, np.float32)
    for a, b, v in runs:
        s[a:b] = v
    return s


def test_one_ten_frame_activation_counts_once():
    s = seq(200, (50, 60, 0.9))
    assert count_activations(s, 0.5, refractory_frames=25) == 1
    assert count_activations(s, 0.5, refractory_frames=0) == 1
    # openWakeWord's trainer figure counts every frame: 10.
    assert frame_level_false_positives(s, 0.5) == 10


def test_threshold_is_inclusive_and_runs_are_separate_events():
    s = seq(300, (10, 12, 0.5), (100, 105, 0.7), (200, 201, 0.49))
    assert count_activations(s, 0.5, 25) == 2          # 0.5 counts, 0.49 does not
    assert activation_frames(s, 0.5, 25).tolist() == [10, 100]
    assert count_activations(s, 0.6, 25) == 1


def test_refractory_suppresses_close_runs():
    # runs start at 0, 10 and 40: with 25 frames of dead time the one at 10 is inside.
    s = seq(100, (0, 3, 0.9), (10, 13, 0.9), (40, 42, 0.9))
    assert activation_frames(s, 0.5, 25).tolist() == [0, 40]
    assert activation_frames(s, 0.5, 5).tolist() == [0, 10, 40]
    assert activation_frames(s, 0.5, 41).tolist() == [0, 41]    # last frame of the run
    assert activation_frames(s, 0.5, 42).tolist() == [0]


def test_run_outlasting_refractory_fires_once_when_it_ends():
    s = seq(100, (0, 3, 0.9), (20, 40, 0.9))
    assert activation_frames(s, 0.5, 25).tolist() == [0, 25]
    # a single long run never fires twice, however long it is
    assert count_activations(seq(500, (0, 400, 0.99)), 0.5, 25) == 1


def test_tracker_matches_batch_rule_on_random_sequences():
    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(1, 150))
        s = (rng.random(n) < rng.random()).astype(np.float32) * rng.random(n)
        thr = float(rng.choice([0.1, 0.3, 0.5]))
        r = int(rng.integers(0, 30))
        tr = ActivationTracker(thr, r)
        live = [i for i, x in enumerate(s) if tr.update(float(x))]
        assert live == activation_frames(s, thr, r).tolist(), (trial, r, thr)


def test_fa_per_hour_uses_given_hours_and_separate_files():
    one_hour = seq(45000, (100, 105, 0.9), (9000, 9001, 0.7))
    assert false_accepts_per_hour(one_hour, 0.5) == pytest.approx(2.0)
    assert false_accepts_per_hour(one_hour, 0.5, hours=0.5) == pytest.approx(4.0)
    # refractory never spans two files: an activation at the end of one file and one at the
    # start of the next are two events.
    a, b = seq(20, (18, 20, 0.9)), seq(20, (0, 2, 0.9))
    assert false_accepts_per_hour([a, b], 0.5, hours=1.0) == pytest.approx(2.0)
    assert false_accepts_per_hour(np.concatenate([a, b]), 0.5, hours=1.0) == pytest.approx(1.0)
    assert math.isnan(false_accepts_per_hour([], 0.5))
    assert refractory_frames_for(2.0) == 25


def test_recall_from_max_scores_or_streams():
    assert recall(np.array([0.9, 0.2, 0.6, 0.5]), 0.5) == 0.75
    assert recall([np.array([0.1, 0.7]), np.array([0.3])], 0.5) == 0.5
    assert math.isnan(recall(np.array([]), 0.5))


def test_det_curve_hand_computed():
    # positives: max scores 0.9, 0.6, 0.3 ; negatives (0.25 h): one 5-frame bump at 0.8 and
    # one at 0.4 in a second file.
    neg = [seq(100, (40, 45, 0.8)), seq(50, (10, 12, 0.4))]
    det = det_curve(np.array([0.9, 0.6, 0.3]), neg, hours=0.25, thresholds=[0.2, 0.5, 0.85])
    assert det["recall"] == pytest.approx([1.0, 2 / 3, 1 / 3])
    assert det["miss_rate"] == pytest.approx([0.0, 1 / 3, 2 / 3])
    assert det["false_accepts"] == [2, 1, 0]
    assert det["false_accepts_per_hour"] == pytest.approx([8.0, 4.0, 0.0])
    assert det["frame_false_positives_per_hour"] == pytest.approx([28.0, 20.0, 0.0])
    assert threshold_for_target(det, 4.0) == 0.5
    assert threshold_for_target(det, 0.0) == 0.85
    assert det_curve([0.9], [], hours=0.0, thresholds=[0.5])["false_accepts_per_hour"] == [None]


def test_held_out_count_rule_tolerates_one_false_accept_in_a_short_set():
    # 0.25 h of negatives as above: one bump at 0.8, one at 0.4.
    neg = [seq(100, (40, 45, 0.8)), seq(50, (10, 12, 0.4))]
    det = det_curve(np.array([0.9, 0.6, 0.3]), neg, hours=0.25, thresholds=[0.2, 0.5, 0.85])
    assert allowed_false_accepts(0.5, 0.25) == 1      # 0.125 expected -> one tolerated
    assert threshold_for_count(det, allowed_false_accepts(0.5, 0.25)) == 0.5
    assert threshold_for_target(det, 0.5) == 0.85     # the per-hour point estimate needs zero
    assert allowed_false_accepts(0.5, 10.0) == 5 and allowed_false_accepts(0.5, 10.2) == 6
    assert allowed_false_accepts(0.0, 1.0) == 0 and allowed_false_accepts(1.0, 0.0) == 0
    assert threshold_for_count(det, 0) == 0.85 and threshold_for_count(det, 2) == 0.2
    det = {"thresholds": [0.1, 0.2, 0.3], "false_accepts": [0, 2, 0]}  # non-monotone counts
    assert threshold_for_count(det, 1) == 0.3


def test_threshold_for_target_handles_non_monotone_counts():
    det = {"thresholds": [0.1, 0.2, 0.3, 0.4], "false_accepts_per_hour": [0.0, 1.0, 0.0, 0.0]}
    assert threshold_for_target(det, 0.5) == 0.3      # 0.1 passes, but 0.2 above it fails
    det = {"thresholds": [0.1, 0.9], "false_accepts_per_hour": [5.0, 3.0]}
    assert threshold_for_target(det, 1.0) is None


def test_default_grid_and_peaks():
    t = default_thresholds()
    assert np.all(np.diff(t) > 0) and t[0] > 0 and t[-1] < 1 and 0.5 in t.tolist()
    s = seq(100, (10, 12, 0.7), (11, 12, 0.8), (60, 61, 0.6))
    assert top_peaks(s, 2, 25) == [(11, pytest.approx(0.8)), (60, pytest.approx(0.6))]
