"""Reading and writing audio safely.

``load_audio`` is the one place audio enters wakeforge: any format libsndfile reads, any rate,
any channel count, any sample format. It returns 16 kHz mono float32 in [-1, 1] or raises
:class:`~wakeforge.errors.AudioError` with a one-line reason, so callers can skip and count bad
files instead of crashing mid-run. ``write_wav`` writes 16-bit PCM atomically.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from wakeforge.audio.constants import SAMPLE_RATE_HZ
from wakeforge.errors import AudioError
from wakeforge.utils.atomic import atomic_path

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au", ".opus")

#: Peak below which a clip counts as digital silence (about -90 dBFS).
SILENCE_PEAK = 3e-5


def resample(audio: np.ndarray, sr_from: int, sr_to: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Resample 1-D or ``[..., time]`` audio with a polyphase filter.

    Example:
        >>> resample(np.zeros(22050, dtype=np.float32), 22050).shape
        (16000,)
    """
    if sr_from == sr_to:
        return audio
    g = np.gcd(int(sr_from), int(sr_to))
    out = resample_poly(audio, sr_to // g, sr_from // g, axis=-1)
    return out.astype(np.float32, copy=False)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average channels of a ``[time, channels]`` array to ``[time]``."""
    if audio.ndim == 1:
        return audio
    return audio.mean(axis=1)


def decode_audio(
    data: bytes | np.ndarray | str | os.PathLike[str],
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    *,
    name: str | None = None,
    allow_silent: bool = False,
) -> np.ndarray:
    """Decode a file path or encoded bytes to mono float32 at ``sample_rate_hz``.

    Raises:
        AudioError: unreadable, empty, non-finite or (unless ``allow_silent``) silent audio.
    """
    label = name or (str(data) if isinstance(data, (str, os.PathLike)) else "<bytes>")
    try:
        if isinstance(data, (bytes, bytearray, memoryview)):
            audio, sr = sf.read(io.BytesIO(bytes(data)), dtype="float32", always_2d=True)
        else:
            audio, sr = sf.read(os.fspath(data), dtype="float32", always_2d=True)
    except FileNotFoundError:
        raise AudioError(f"{label}: file not found; check the path") from None
    except Exception as exc:  # libsndfile raises many types for corrupt input
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise AudioError(f"{label}: cannot decode audio ({reason}); re-encode it as WAV/FLAC or remove it") from None
    return _clean(audio, int(sr), sample_rate_hz, label, allow_silent)


def _clean(audio: np.ndarray, sr: int, sample_rate_hz: int, label: str, allow_silent: bool) -> np.ndarray:
    if audio.size == 0 or audio.shape[0] == 0:
        raise AudioError(f"{label}: audio is empty (0 samples); remove the file")
    if sr <= 0:
        raise AudioError(f"{label}: invalid sample rate {sr}; re-encode the file")
    audio = to_mono(audio)
    if not np.all(np.isfinite(audio)):
        raise AudioError(f"{label}: audio contains NaN or infinite samples; re-encode or remove it")
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:  # float files may exceed full scale: normalise instead of clipping
        audio = audio / peak
    if not allow_silent and peak < SILENCE_PEAK:
        raise AudioError(f"{label}: audio is silent (peak {peak:.1e}); remove the file")
    audio = resample(audio.astype(np.float32, copy=False), sr, sample_rate_hz)
    return np.ascontiguousarray(audio, dtype=np.float32)


def load_audio(
    path: str | os.PathLike[str],
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    *,
    allow_silent: bool = False,
) -> np.ndarray:
    """Load any audio file as mono float32 at ``sample_rate_hz`` (default 16 kHz).

    Example:
        >>> import tempfile, soundfile
        >>> p = tempfile.mktemp(suffix=".wav")
        >>> soundfile.write(p, np.full((8000, 2), 0.1), 8000)
        >>> load_audio(p).shape
        (16000,)
    """
    return decode_audio(path, sample_rate_hz, allow_silent=allow_silent)


def from_array(
    audio: np.ndarray, sr: int, sample_rate_hz: int = SAMPLE_RATE_HZ, *, name: str = "<array>"
) -> np.ndarray:
    """Clean an in-memory array (``[time]`` or ``[time, channels]``) like :func:`load_audio`."""
    arr = np.asarray(audio)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
    arr = arr.astype(np.float32, copy=False)
    if arr.ndim == 2 and arr.shape[0] < arr.shape[1] and arr.shape[0] <= 8:
        arr = arr.T  # [channels, time] -> [time, channels]
    return _clean(arr if arr.ndim == 2 else arr[:, None], sr, sample_rate_hz, name, False)


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float [-1, 1] -> int16 with clipping."""
    return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype(np.int16)


def write_wav(path: str | os.PathLike[str], audio: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> Path:
    """Write mono 16-bit PCM WAV atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    data = audio if audio.dtype == np.int16 else to_int16(audio)
    with atomic_path(path) as tmp:
        sf.write(tmp, data, sample_rate_hz, subtype="PCM_16", format="WAV")
    return path


def list_audio_files(folder: str | os.PathLike[str]) -> list[Path]:
    """All audio files below ``folder`` (recursive), sorted for determinism."""
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
