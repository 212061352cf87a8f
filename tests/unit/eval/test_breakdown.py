"""``benchmark --breakdown``: clip properties, quartile recall, and the CLI's outputs."""

from __future__ import annotations

import json
import numpy as np
import pytest

from wakeforge.evaluation.benchmark.breakdown import (
    PROPERTIES,
    clip_properties,
    files_properties,
    quartile_recall,
)

from ._synth import SR, write


def _clip(floor_dbfs: float, amp: float, speech_s: float, seconds: float = 2.0,
          seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 10 ** (floor_dbfs / 20), int(seconds * SR))
    a = int(0.5 * SR)
    t = np.arange(int(round(speech_s * SR))) / SR
    x[a : a + len(t)] += amp * np.sin(2 * np.pi * 220 * t)
    return x.astype(np.float32)


@pytest.mark.parametrize("floor, amp, speech_s", [(-70.0, 0.3, 0.4), (-50.0, 0.05, 0.9),
                                                   (-80.0, 0.9, 0.25)])
def test_clip_properties_read_level_floor_length_and_peak(floor, amp, speech_s):
    p = clip_properties(_clip(floor, amp, speech_s))
    assert set(p) == set(PROPERTIES)
    # a sine's RMS is amp / sqrt(2); the 95th percentile frame is inside the burst
    assert p["speech_dbfs"] == pytest.approx(20 * np.log10(amp / np.sqrt(2)), abs=0.5)
    # Gaussian noise: the 10th percentile of 10 ms frame levels sits ~0.6 dB under its RMS
    assert p["floor_dbfs"] == pytest.approx(floor - 0.6, abs=0.5)
    assert p["speech_s"] == pytest.approx(speech_s, abs=0.02)
    # the peak is the sine's crest plus at most a few noise sigmas
    sigma = 10 ** (floor / 20)
    assert 20 * np.log10(amp) - 0.1 <= p["peak_dbfs"] <= 20 * np.log10(amp + 6 * sigma)


def test_clip_properties_of_silence_and_of_nothing():
    p = clip_properties(np.zeros(SR, np.float32))
    assert p["floor_dbfs"] == p["speech_dbfs"] == p["peak_dbfs"] == -120.0
    assert p["speech_s"] == 0.0
    assert all(np.isnan(v) for v in clip_properties(np.zeros(10, np.float32)).values())


def test_quartile_recall_counts_hand_built_bins():
    values = np.array([1, 2, 3, 4, 5, 6, 7, 8, np.nan], float)
    scores = np.array([0.9, 0.1, 0.6, 0.7, 0.2, 0.3, 0.99, 0.5, 1.0])
    noisy = np.array([0.1, 0.1, 0.6, 0.1, 0.2, 0.3, 0.99, 0.99, 1.0])
    q = quartile_recall(values, scores, 0.5, noisy)
    assert q["n"] == [2, 2, 2, 2]          # the NaN clip is left out
    assert q["recall"] == [0.5, 1.0, 0.0, 1.0]
    assert q["noisy_recall"] == [0.0, 0.5, 0.0, 1.0]
    assert q["edges"][0] == 1.0 and q["edges"][-1] == 8.0
    # tied values share one bin; empty bins report None
    t = quartile_recall(np.array([1, 1, 1, 1, 2, 3, 4, 5.0]), np.ones(8), 0.5)
    assert sum(t["n"]) == 8 and None in t["recall"] and t["noisy_recall"] == []
    assert quartile_recall(np.array([np.nan]), np.array([1.0]), 0.5)["n"] == []


def test_files_properties_skip_unreadable(tmp_path):
    good = write(tmp_path / "a.wav", _clip(-60.0, 0.2, 0.5))
    bad = tmp_path / "b.wav"
    bad.write_bytes(b"RIFF not audio")
    props = files_properties([good, bad])
    assert props["speech_s"][0] == pytest.approx(0.5, abs=0.02)
    assert np.isnan(props["speech_s"][1])


def test_cli_breakdown_table_json_and_plot(tmp_path, tone_head, feature_paths, capsys):
    """Tone clips over a -60 dBFS floor are heard, speech-like clips over a -30 dBFS floor are
    not: the floor's two low quartiles have recall 1, the two high ones 0 (an unreadable clip
    in between must not shift the scores against the files)."""
    from wakeforge.benchmark import main
    from tests.unit.eval._synth import noise, plant_tone, speechlike

    rng = np.random.default_rng(3)
    root = tmp_path / "suite"
    for i in range(4):
        write(root / "positives" / "bob" / f"a_tone{i}.wav", plant_tone(noise(2.5, rng), 0.5))
        write(root / "positives" / "bob" / f"c_speech{i}.wav", speechlike(2.5, rng, 2, 0.2, 0.8))
    (root / "positives" / "bob" / "b_broken.wav").write_bytes(b"RIFF not audio")
    write(root / "negatives" / "room" / "n.wav", noise(3.0, rng))
    rc = main(["--suite", str(root), "--model", f"tone={tone_head}", "--phrase", "bob",
               "--breakdown", "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c"),
               "--workers", "1", "--snr-db", "-1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "recall at 0.5 by quartile" in out and "noise floor" in out
    assert "breakdown plots:" in out
    res = json.loads((tmp_path / "o" / "benchmark.json").read_text())
    m = res["models"][0]
    assert m["recall_at_threshold"] == 0.5 and m["n_positive"] == 8
    bd = m["breakdown"]
    assert set(bd) == set(PROPERTIES)
    assert bd["floor_dbfs"]["n"] == [2, 2, 2, 2]
    assert bd["floor_dbfs"]["recall"] == [1.0, 1.0, 0.0, 0.0]
    assert bd["floor_dbfs"]["edges"][0] == pytest.approx(-61, abs=1.5)
    assert bd["floor_dbfs"]["edges"][-1] == pytest.approx(-31, abs=3)
    assert (tmp_path / "o" / "breakdown_bob.png").stat().st_size > 1000
    assert "noise floor" in (tmp_path / "o" / "benchmark.txt").read_text()
