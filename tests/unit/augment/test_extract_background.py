from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import soundfile as sf

from wakeforge.augment.extract_background import extract_background, main

SR_IN = 44_100


def _encoded(fmt: str, seconds: float, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR_IN)) / SR_IN
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + rng.normal(0, 0.01, t.size)
    stereo = np.stack([left, 0.5 * left], axis=1)
    buf = io.BytesIO()
    sf.write(buf, stereo, SR_IN, format=fmt, subtype="PCM_16")
    return buf.getvalue()


def _write_parquet(path, rows_per_group: int = 2) -> None:
    audio = [
        {"bytes": _encoded("FLAC", 1.0, 0), "path": "a.flac"},
        {"bytes": _encoded("WAV", 0.5, 1), "path": "b.wav"},
        {"bytes": b"RIFF\x00\x00 corrupt bytes", "path": "c.wav"},
        {"bytes": _encoded("FLAC", 0.25, 2), "path": "d.flac"},
    ]
    table = pa.table({"audio": audio, "label": ["x", "y", "z", "w"]})
    pq.write_table(table, path, row_group_size=rows_per_group)


def test_parquet_to_16k_mono_wavs_with_corrupt_row_and_resume(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _write_parquet(src / "train-00000.parquet")
    out = tmp_path / "wav"

    first = extract_background([src], out, progress=False)
    assert (first.written, first.failed, first.total_rows) == (3, 1, 4)
    assert "row 2" in capsys.readouterr().err  # the corrupt row is reported on its own line
    wavs = sorted(out.glob("*.wav"))
    assert [w.name for w in wavs] == [
        "train-00000_000000.wav",
        "train-00000_000001.wav",
        "train-00000_000003.wav",
    ]
    for wav, seconds in zip(wavs, (1.0, 0.5, 0.25)):
        info = sf.info(wav)
        assert info.samplerate == 16_000 and info.channels == 1 and info.subtype == "PCM_16"
        assert abs(info.frames - seconds * 16_000) <= 2
    mtimes = {w: w.stat().st_mtime_ns for w in wavs}

    again = extract_background([src], out, progress=False)
    assert (again.written, again.already_done, again.failed, again.failed_before) == (0, 3, 0, 1)
    assert {w: w.stat().st_mtime_ns for w in wavs} == mtimes

    wavs[1].unlink()  # a lost output is redone, the rest skipped
    third = extract_background([src], out, progress=False)
    assert (third.written, third.already_done) == (1, 2)


def test_decoded_array_form_and_cli(tmp_path):
    rng = np.random.default_rng(3)
    arr = (0.2 * rng.standard_normal((2, 22050))).astype(np.float32)  # [channels, time]
    table = pa.table(
        {
            "sound": [
                {"array": arr.tolist(), "sampling_rate": 22050},
                {"array": [], "sampling_rate": 22050},
            ]
        }
    )
    pq.write_table(table, tmp_path / "x.parquet")
    rc = main([str(tmp_path / "x.parquet"), "--output", str(tmp_path / "o"), "--no-progress"])
    assert rc == 0
    info = sf.info(tmp_path / "o" / "x_000000.wav")
    assert info.samplerate == 16_000 and info.channels == 1 and abs(info.frames - 16_000) <= 2
    assert not (tmp_path / "o" / "x_000001.wav").exists()


def test_help_is_fast_and_missing_input_is_one_line(tmp_path):
    run = [sys.executable, "-m", "wakeforge.augment.extract_background"]
    assert (
        subprocess.run(run + ["--help"], capture_output=True, text=True, check=False).returncode
        == 0
    )
    res = subprocess.run(
        run + [str(tmp_path / "nope")], capture_output=True, text=True, check=False
    )
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error:") and len(res.stderr.strip().splitlines()) == 1
