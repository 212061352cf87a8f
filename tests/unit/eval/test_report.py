"""evaluate_model on synthetic recordings with planted tones: hand-derived recall and FA/hour."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wakeforge.core.errors import WakeforgeError
from wakeforge.evaluation.report import evaluate_model, format_summary, log_to_wandb

from ._synth import noise, plant_tone, write


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """5 positives (4 with a tone), negatives: 30 s with 3 tones + 10 s of noise."""
    root = tmp_path_factory.mktemp("eval_data")
    rng = np.random.default_rng(7)
    for i in range(4):
        write(root / "pos" / f"tone_{i}.wav", plant_tone(noise(2.0, rng), 0.25))
    write(root / "pos" / "silent_speaker.wav", noise(2.0, rng))
    long = noise(30.0, rng)
    for start in (5.0, 15.0, 25.0):
        long = plant_tone(long, start)
    write(root / "neg" / "long_with_3_tones.wav", long)
    write(root / "neg" / "quiet.wav", noise(10.0, rng))
    return root


@pytest.fixture(scope="module")
def result(dataset, tone_head, feature_paths, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval_out")
    return evaluate_model(tone_head, dataset / "pos", dataset / "neg", threshold=0.5,
                          target_fa_per_hour=0.5, refractory_s=2.0, out_dir=out,
                          feature_paths=feature_paths)


def test_recall_and_false_accepts_match_the_planted_tones(result):
    # 4 of the 5 positive files contain the tone: recall = 4 / 5.
    assert result["n_positive"] == 5
    assert result["recall"] == pytest.approx(4 / 5)
    assert result["misses"] == 1
    assert result["worst_misses"][0]["path"].endswith("silent_speaker.wav")
    assert result["worst_misses"][0]["detected"] is False
    # 3 tones planted 10 s apart (> 2 s refractory) in 40 s of negative audio:
    # 3 false accepts, 3 / (40 / 3600) = 270 per hour.
    assert result["negative_hours"] == pytest.approx(40 / 3600)
    assert result["false_accepts"] == 3
    assert result["false_accepts_per_hour"] == pytest.approx(270.0)
    # openWakeWord's frame-level count sees each tone in several consecutive frames.
    assert result["frame_false_positives"] >= 3 * 3
    # Worst false accepts are the planted tones, located near their ends (5+1.5 s, ...).
    times = sorted(w["time_s"] for w in result["worst_false_accepts"] if w["false_accept"])
    assert len(times) == 3
    for t, start in zip(times, (5.0, 15.0, 25.0), strict=True):
        assert start < t < start + 1.5 + 1.0
    # The tones saturate the head, so no threshold of the grid reaches 0.5 FA/h.
    assert result["threshold_at_target"] is None


def test_det_curve_and_files_are_written(result):
    out = result["outputs"]
    for key in ("metrics", "det_json", "det_png", "scores_hist_png", "per_file"):
        assert key in out
    with open(out["det_png"], "rb") as fh:
        head = fh.read(8)
    assert head == b"\x89PNG\r\n\x1a\n"
    import os

    assert os.path.getsize(out["det_png"]) > 5000
    assert os.path.getsize(out["scores_hist_png"]) > 5000
    det = json.load(open(out["det_json"]))
    i = det["thresholds"].index(0.5)
    assert det["recall"][i] == pytest.approx(0.8)
    assert det["false_accepts_per_hour"][i] == pytest.approx(270.0)
    metrics = json.load(open(out["metrics"]))
    assert metrics["false_accepts"] == 3 and metrics["recall"] == pytest.approx(0.8)
    assert "det" not in metrics
    per_file = json.load(open(out["per_file"]))
    by_name = {p["path"].rsplit("/", 1)[-1]: p for p in per_file}
    assert by_name["long_with_3_tones.wav"]["activations"] == 3
    assert by_name["quiet.wav"]["activations"] == 0
    assert "recall@0.5 = 0.800" in format_summary(result)


def test_target_threshold_when_reachable(dataset, tone_head, feature_paths):
    # Without the long negative file there is nothing to reject: the lowest grid
    # threshold already meets any target; one of the two positives has a tone.
    pos = [dataset / "pos" / "tone_0.wav", dataset / "pos" / "silent_speaker.wav"]
    r = evaluate_model(tone_head, pos, dataset / "neg" / "quiet.wav",
                       threshold=0.5, target_fa_per_hour=0.0, refractory_s=2.0,
                       feature_paths=feature_paths, thresholds=[0.2, 0.5, 0.8])
    assert r["false_accepts"] == 0 and r["false_accepts_per_hour"] == 0.0
    assert r["threshold_at_target"] == 0.2
    assert r["recall_at_target"] == pytest.approx(0.5)
    assert r["outputs"] == {}


def test_noise_mixing_and_unreadable_files(dataset, tone_head, feature_paths, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wav")
    r = evaluate_model(tone_head, [dataset / "pos" / "tone_0.wav", bad], [], snr_db=20.0,
                       feature_paths=feature_paths)
    assert r["snr_db"] == 20.0 and r["recall"] == 1.0     # a 20 dB pink noise bed keeps it
    assert [s["path"] for s in r["skipped_files"]] == [str(bad)]
    assert r["false_accepts_per_hour"] is None


def test_missing_paths_are_one_line_errors(tone_head, feature_paths, tmp_path):
    with pytest.raises(WakeforgeError, match="does not exist"):
        evaluate_model(tone_head, tmp_path / "nope", [], feature_paths=feature_paths)
    with pytest.raises(WakeforgeError, match="no audio to evaluate"):
        evaluate_model(tone_head, [], [], feature_paths=feature_paths)


def test_log_to_wandb_offline(result, tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    assert log_to_wandb(result, None) is False or wandb.run is not None  # no run: no-op
    run = wandb.init(mode="offline", dir=str(tmp_path), project="wakeforge-test")
    try:
        assert log_to_wandb(result, run, prefix="test") is True
    finally:
        run.finish()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".png" and "images" in p.parts for p in files)
    worst = [p.name for p in files if p.suffix == ".wav" and "audio" in p.parts]
    assert any(n.startswith("worst_false_accepts") for n in worst)
    assert any(n.startswith("worst_misses") for n in worst)


def test_negative_groups_split_the_false_accepts(dataset, tone_head, feature_paths):
    # Near-miss files and general files reported apart: all 3 tones are in the "near" file.
    groups = {
        str(dataset / "neg" / "long_with_3_tones.wav"): "adversarial",
        str(dataset / "neg" / "quiet.wav"): "general",
    }
    r = evaluate_model(tone_head, dataset / "pos", dataset / "neg", threshold=0.5,
                       target_fa_per_hour=0.5, refractory_s=2.0, feature_paths=feature_paths,
                       negative_groups=groups)
    adv, gen = r["by_group"]["adversarial"], r["by_group"]["general"]
    assert adv["files"] == 1 and adv["files_accepted"] == 1 and adv["false_accepts"] == 3
    # Near-miss clips are counted as clips accepted, never per hour.
    assert adv["kind"] == "near-miss clips"
    assert "false_accepts_per_hour" not in adv and "threshold_at_target" not in adv
    assert gen["files"] == 1 and gen["false_accepts"] == 0 and gen["accept_rate"] == 0.0
    assert gen["false_accepts_per_hour"] == 0.0
    # Quiet noise fires at no threshold: the lowest grid threshold keeps it within target,
    # and 4 of 5 positives score above it.
    assert gen["recall_at_target"] == pytest.approx(0.8)
    # The per-hour figures are over the general file only (10 s, no false accept); the near
    # miss is "accepted 1 of 1"; the recommended threshold is the 0.5 floor (met).
    assert r["negative_hours"] == pytest.approx(10 / 3600)
    assert r["false_accepts"] == 0 and r["false_accepts_per_hour"] == 0.0
    fig = r["figures"]
    assert r["recommended_threshold"] == fig["threshold"] == 0.5 and fig["target_met"] is True
    assert fig["recall"] == pytest.approx(0.8) and fig["positives_detected"] == 4
    assert fig["false_accepts"] == 0 and fig["false_accepts_per_hour"] == 0.0
    assert fig["hours"] == pytest.approx(10 / 3600)
    assert (fig["near_miss_accepted"], fig["near_miss_clips"]) == (1, 1)
    assert "accepted 1 of 1 near-miss clips" in format_summary(r)


def test_recommended_threshold_rule():
    from wakeforge.evaluation.report import recommend_threshold

    # max(floor, lowest threshold meeting the target); unmet: the floor, flagged.
    assert recommend_threshold(0.7, 0.5, has_hours=True) == (0.7, True)
    assert recommend_threshold(0.05, 0.5, has_hours=True) == (0.5, True)
    assert recommend_threshold(None, 0.5, has_hours=True) == (0.5, False)
    assert recommend_threshold(None, 0.5, has_hours=False) == (0.5, None)


def test_saturating_negatives_raise_no_recommendation_above_the_floor(result):
    # The tones saturate the head: no threshold meets 0.5 FA/h, so the floor is recommended
    # and flagged; the figures are at it and equal the top-level numbers at 0.5.
    fig = result["figures"]
    assert fig["threshold"] == 0.5 and fig["target_met"] is False
    assert fig["recall"] == result["recall"] and fig["false_accepts"] == 3
    assert fig["false_accepts_per_hour"] == pytest.approx(270.0)
    assert fig["near_miss_clips"] == 0


def test_parallel_scoring_gives_the_same_result(dataset, tone_head, feature_paths, tmp_path,
                                                monkeypatch):
    import wakeforge.evaluation.report.workers as report_workers

    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wav")
    kw = dict(threshold=0.5, target_fa_per_hour=0.5, refractory_s=2.0,
              feature_paths=feature_paths)
    one = evaluate_model(tone_head, dataset / "pos", [dataset / "neg", bad], workers=1, **kw)
    monkeypatch.setattr(report_workers, "MIN_FILES_PER_WORKER", 1)  # 8 files: worth 2 processes now
    assert report_workers._n_workers(2, 8) == 2 and report_workers._n_workers(0, 1) == 1
    two = evaluate_model(tone_head, dataset / "pos", [dataset / "neg", bad], workers=2, **kw)
    assert two["per_file"] == one["per_file"]
    assert (two["recall"], two["false_accepts"]) == (one["recall"], one["false_accepts"]) == (0.8, 3)
    assert [s["path"] for s in two["skipped_files"]] == [str(bad)]
    assert two["det"] == one["det"]
