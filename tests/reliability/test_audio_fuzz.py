"""Fuzz the audio loader: random bytes, random WAV headers, mutated real files.

Every input must end in one of two ways: 16 kHz mono float32 audio that is finite and within
[-1, 1], or :class:`AudioError` (the clean skip path every caller counts). Any other exception,
a hang or a crash of the interpreter is a bug. The number of examples is bounded (a few hundred
per strategy) so the test stays in the fast tier.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wakeforge.audio.io import decode_audio, from_array
from wakeforge.core.errors import AudioError

FUZZ = settings(
    max_examples=200,
    deadline=2000,
    derandomize=True,  # the same cases every run: a failure reproduces
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def _outcome(data: bytes | np.ndarray, sr: int | None = None) -> str:
    try:
        out = from_array(data, sr) if sr is not None else decode_audio(data, name="<fuzz>")  # type: ignore[arg-type]
    except AudioError as exc:
        msg = str(exc)
        assert "\n" not in msg and msg.startswith("<"), msg
        return "skipped"
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.ndim == 1
    assert out.size > 0 and np.isfinite(out).all()
    assert float(np.abs(out).max()) <= 1.0 + 1e-3  # resampling may overshoot by a hair
    return "decoded"


def _wav_header(fmt: int, channels: int, rate: int, bits: int, data_len: int, block_align: int | None = None) -> bytes:
    block = block_align if block_align is not None else channels * max(1, bits // 8)
    fmt_chunk = struct.pack("<HHIIHH", fmt & 0xFFFF, channels & 0xFFFF, rate & 0xFFFFFFFF,
                            (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits & 0xFFFF)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk + b"data" + struct.pack("<I", data_len & 0xFFFFFFFF)
    return b"RIFF" + struct.pack("<I", (len(body) + data_len) & 0xFFFFFFFF) + body


def _valid_files() -> list[bytes]:
    """Small real files in many formats and subtypes (the seeds for mutation)."""
    rng = np.random.default_rng(0)
    x = (0.3 * np.sin(np.arange(4000) / 7.0) + 0.01 * rng.normal(size=4000)).astype(np.float32)
    stereo = np.stack([x, -0.5 * x], axis=1)
    out = []
    for fmt, subtype, sr, data in (
        ("WAV", "PCM_16", 16000, x), ("WAV", "PCM_U8", 8000, x), ("WAV", "PCM_24", 44100, stereo),
        ("WAV", "PCM_32", 48000, x), ("WAV", "FLOAT", 22050, stereo), ("WAV", "DOUBLE", 16000, x),
        ("FLAC", "PCM_16", 16000, x), ("OGG", "VORBIS", 16000, x), ("AIFF", "PCM_16", 11025, x),
        ("AU", "PCM_16", 16000, x), ("WAV", "ULAW", 8000, x),
    ):
        buf = io.BytesIO()
        sf.write(buf, data, sr, format=fmt, subtype=subtype)
        out.append(buf.getvalue())
    return out


VALID = _valid_files()


def test_valid_seed_files_decode() -> None:
    assert [_outcome(b) for b in VALID] == ["decoded"] * len(VALID)


@FUZZ
@given(st.binary(min_size=0, max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _outcome(data)


@FUZZ
@given(
    fmt=st.sampled_from([1, 3, 6, 7, 0xFFFE, 0, 2, 0x55]) | st.integers(0, 0xFFFF),
    channels=st.sampled_from([1, 2, 6]) | st.integers(0, 0xFFFF),
    rate=st.sampled_from([8000, 16000, 22050, 44100, 48000, 0, 1, 44099, 2**31 - 1]) | st.integers(0, 2**32 - 1),
    bits=st.sampled_from([8, 16, 24, 32, 64, 0, 12]) | st.integers(0, 0xFFFF),
    data_len=st.integers(0, 2**32 - 1),
    block_align=st.none() | st.integers(0, 0xFFFF),
    payload=st.binary(min_size=0, max_size=2048),
)
def test_random_wav_headers(fmt: int, channels: int, rate: int, bits: int, data_len: int, block_align: int | None, payload: bytes) -> None:
    _outcome(_wav_header(fmt, channels, rate, bits, data_len, block_align) + payload)


@FUZZ
@given(
    seed=st.sampled_from(range(len(VALID))),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=8),
)
def test_mutated_and_truncated_files(seed: int, cut: float, flips: list[tuple[float, int]]) -> None:
    data = bytearray(VALID[seed])
    for pos, val in flips:
        data[int(pos * (len(data) - 1))] = val
    _outcome(bytes(data[: int(cut * len(data))]))


@FUZZ
@given(
    dtype=st.sampled_from(["uint8", "int16", "int32", "float32", "float64"]),
    shape=st.sampled_from([(0,), (1,), (400,), (400, 2), (2, 400), (3, 3), (400, 1)]),
    rate=st.sampled_from([8000, 16000, 44100, 48000, 0, -5, 1, 10**9]),
    special=st.sampled_from([None, "nan", "inf", "zeros", "huge"]),
    seed=st.integers(0, 2**16),
)
def test_parquet_style_arrays(dtype: str, shape: tuple[int, ...], rate: int, special: str | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arr = rng.normal(0, 0.3, size=shape)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        arr = np.clip(arr * info.max + (info.max / 2 if np.dtype(dtype).kind == "u" else 0), info.min, info.max)
    arr = arr.astype(dtype)
    if special and arr.size and np.dtype(dtype).kind == "f":
        arr.flat[0] = {"nan": np.nan, "inf": np.inf, "zeros": 0.0, "huge": 1e30}[special]
        if special == "zeros":
            arr[...] = 0
    _outcome(arr, rate)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: b"", "skipped"),
        (lambda: _wav_header(1, 1, 16000, 16, 0), "skipped"),  # zero-length
        (lambda: _wav_header(1, 1, 16000, 16, 2**31) + b"\x01\x02" * 100, "decoded"),  # header lies about length
        (lambda: _wav_header(1, 1, 1, 16, 200) + np.full(100, 1000, "<i2").tobytes(), "skipped"),  # 1 Hz
        (lambda: _wav_header(1, 1, 44099, 16, 8000) + (np.sin(np.arange(4000)) * 9000).astype("<i2").tobytes(), "decoded"),
    ],
)
def test_hand_made_edge_cases(make, expected: str) -> None:
    assert _outcome(make()) == expected


@pytest.mark.parametrize(
    "sr, subtype, channels",
    [(8_000, "PCM_U8", 1), (8_000, "PCM_16", 2), (16_000, "PCM_24", 1), (22_050, "PCM_32", 2),
     (44_100, "PCM_16", 2), (44_100, "FLOAT", 1), (48_000, "DOUBLE", 2), (48_000, "PCM_24", 6)],
)
def test_formats_are_resampled_and_downmixed(tmp_path, sr: int, subtype: str, channels: int) -> None:
    """8/16/24/32-bit and float, 8-48 kHz, mono to 5.1: 16 kHz mono of the same duration."""
    from wakeforge.audio.io import load_audio

    t = np.arange(int(1.5 * sr)) / sr
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / "x.wav"
    sf.write(path, np.repeat(tone[:, None], channels, axis=1), sr, subtype=subtype)
    out = load_audio(path)
    assert out.dtype == np.float32 and out.ndim == 1
    assert abs(out.size - 24_000) <= 2
    rms = float(np.sqrt(np.mean(out[2000:-2000] ** 2)))
    assert 0.3 < rms < 0.4  # 0.5 / sqrt(2): level kept (8-bit: within quantisation)
