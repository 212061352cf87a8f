"""python -m wakeforge.detect / wakeforge.evaluate, run in-process (and --help as a subprocess)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from wakeforge import detect, evaluate
from wakeforge.audio.io import load_audio
from wakeforge.evaluation.streaming import CHUNK_SAMPLES, to_int16

from ._synth import noise, plant_tone, write


@pytest.fixture()
def env_model(tone_head, tmp_path, monkeypatch):
    """The tone head discovered through WAKE_MODEL_PATHS, with no other models around."""
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(tone_head, folder / "tone_bob.onnx")
    monkeypatch.setenv("WAKE_MODEL_PATHS", str(folder))
    return folder / "tone_bob.onnx"


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    audio = noise(12.0, np.random.default_rng(3))
    for start in (2.0, 4.2, 8.0):            # tones of 1 s, the first two 1.2 s apart
        audio = plant_tone(audio, start, 1.0)
    return write(tmp_path_factory.mktemp("rec") / "kitchen.wav", audio)


def run_main(mod, argv):
    out = io.StringIO()
    rc = mod.main(argv, out=out)
    return rc, out.getvalue()


def test_help_is_fast():
    for mod in ("wakeforge.detect", "wakeforge.evaluate"):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", mod, "--help"], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0 and "usage" in proc.stdout
        assert time.perf_counter() - t < 5.0


def test_detect_file_reports_times_and_scores(env_model, recording, tmp_path):
    rc, text = run_main(detect, ["--model", "tone_bob", "--no-builtin", "--detection-dir",
                                 str(tmp_path / "none"), "--refractory-s", "4", "--json",
                                 str(recording)])
    assert rc == 0
    (res,) = json.loads(text)
    times = [d["time_s"] for d in res["detections"]]
    assert len(times) == 2                           # the tone at 4.2 s is in the refractory
    assert 2.0 < times[0] < 3.5 and 8.0 < times[1] < 9.5
    assert all(d["score"] > 0.99 for d in res["detections"])
    rc, text = run_main(detect, ["--no-builtin", "--detection-dir", str(tmp_path / "none"),
                                 "--refractory-s", "0", str(recording)])
    assert "tone_bob DETECTED at" in text and text.count(" s (score") == 3


def test_live_loop_matches_file_scan(env_model, recording, tmp_path):
    models = detect.select_models(["tone_bob"], tmp_path, include_builtin=False)
    audio = to_int16(load_audio(recording))
    chunks = (audio[i : i + CHUNK_SAMPLES] for i in range(0, len(audio) - CHUNK_SAMPLES + 1,
                                                          CHUNK_SAMPLES))
    seen = []
    live = detect.run_live(chunks, models, 0.5, 4.0, on_detect=seen.append)
    assert live == seen and len(live) == 2
    assert 2.0 < live[0]["time_s"] < 3.5 and 8.0 < live[1]["time_s"] < 9.5
    # same events as the file scan (the live loop has no lead-in: times match to a frame)
    scan = detect.detect_files([recording], models, 0.5, 4.0)[0]["detections"]
    assert [round(d["time_s"], 2) for d in scan] == [round(d["time_s"], 2) for d in live]


def test_detect_list_and_errors(env_model, tmp_path, capsys):
    rc, text = run_main(detect, ["--list", "--no-builtin", "--detection-dir", str(tmp_path)])
    assert rc == 0 and "tone_bob" in text and "env" in text
    for argv, msg in (
        ([], "nothing to do"),
        (["--model", "nope", "--no-builtin", "x.wav"], "no model named 'nope'"),
        (["--threshold", "2", "x.wav"], "--threshold"),
    ):
        with pytest.raises(SystemExit) as exc:
            detect.main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and msg in err and err.count("\n") == 1


def test_mic_without_sound_library_is_a_clear_error(env_model, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)    # as if not installed
    with pytest.raises(SystemExit) as exc:
        detect.main(["--mic", "--model", str(env_model)])
    assert exc.value.code == 2
    assert "pip install sounddevice" in capsys.readouterr().err


def test_evaluate_cli_writes_outputs(env_model, recording, tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    pos = write(tmp_path / "pos" / "p1.wav", plant_tone(noise(2.0, rng), 0.2))
    monkeypatch.setenv("WAKEFORGE_ROOT", str(tmp_path))      # default --out: logs/eval/{name}
    rc, text = run_main(evaluate, ["--model", "tone_bob", "--positive", str(pos),
                                   "--negative", str(recording),
                                   "--detection-dir", str(tmp_path / "none"), "--json"])
    assert rc == 0
    m = json.loads(text)
    # the tones start 2.2 s and 3.8 s apart, beyond the default 2 s refractory: 3 events
    assert m["recall"] == 1.0 and m["false_accepts"] == 3
    assert m["false_accepts_per_hour"] == pytest.approx(3 / (12 / 3600))
    out = tmp_path / "logs" / "eval" / "tone_bob"
    assert (out / "det.png").stat().st_size > 0 and (out / "metrics.json").is_file()
    # The same report as training writes, for any model and recordings.
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 2 and "data:audio/wav;base64," in report
    assert m["figures"]["threshold"] == m["recommended_threshold"] == 0.5  # 3 FAs in 12 s: unmet
    assert m["figures"]["target_met"] is False


def test_evaluate_cli_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--model", str(tmp_path / "m.onnx"), "--positive", "x"])
    assert exc.value.code == 2
    assert "not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--model", "m"])
    assert exc.value.code == 2 and "nothing to evaluate" in capsys.readouterr().err


@pytest.mark.parametrize("mod", [detect, evaluate])
@pytest.mark.parametrize("flag, value", [("--threshold", "0"), ("--refractory-s", "-1")])
def test_operating_point_errors_are_shared(mod, flag, value, capsys):
    argv = ["--model", "m", "--positive", "x.wav"] if mod is evaluate else ["--model", "m", "x.wav"]
    with pytest.raises(SystemExit) as exc:
        mod.main([*argv, flag, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {flag} must be") and err.count("\n") == 1
