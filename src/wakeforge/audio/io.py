"""Reading and writing audio safely.

``load_audio`` is the one place audio enters wakeforge: any format libsndfile reads, any rate,
any channel count, any sample format. It returns 16 kHz mono float32 in [-1, 1] or raises
:class:`~wakeforge.core.errors.AudioError` with a one-line reason, so callers can skip and count bad
files instead of crashing mid-run. ``write_wav`` writes 16-bit PCM atomically.
"""

from __future__ import annotations

import io
import os
import re
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from wakeforge.audio.constants import SAMPLE_RATE_HZ
from wakeforge.core.errors import AudioError
from wakeforge.utils.atomic import atomic_path

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au", ".opus")

#: Peak below which a clip counts as digital silence (about -90 dBFS).
SILENCE_PEAK = 3e-5
#: Sample rates accepted from a file header; anything else is a corrupt or exotic file.
MIN_SAMPLE_RATE_HZ = 1_000
MAX_SAMPLE_RATE_HZ = 768_000
#: Polyphase factors above this (e.g. 44099 Hz -> 16 kHz) use a close rational approximation
#: of the ratio instead: exact odd ratios would design a filter of millions of taps.
MAX_POLYPHASE_FACTOR = 2_000


def resample(audio: np.ndarray, sr_from: int, sr_to: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Resample 1-D or ``[..., time]`` audio with a polyphase filter.

    Example:
        >>> resample(np.zeros(22050, dtype=np.float32), 22050).shape
        (16000,)
    """
    if sr_from == sr_to:
        return audio
    g = np.gcd(int(sr_from), int(sr_to))
    up, down = sr_to // g, sr_from // g
    if max(up, down) > MAX_POLYPHASE_FACTOR:
        from fractions import Fraction

        ratio = Fraction(int(sr_to), int(sr_from)).limit_denominator(MAX_POLYPHASE_FACTOR // 4)
        up, down = ratio.numerator, ratio.denominator
    # Imported here: scipy.signal costs ~0.7 s to import, and stage 1's planner imports this
    # module (file listing, WAV writing) without ever resampling.
    from scipy.signal import resample_poly

    out = resample_poly(audio, up, down, axis=-1)
    return out.astype(np.float32, copy=False)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average channels of a ``[time, channels]`` array to ``[time]``."""
    if audio.ndim == 1:
        return audio
    return audio.mean(axis=1)


class _SeekSafeBytesIO(io.BytesIO):
    """BytesIO whose failed seeks (libsndfile probing a corrupt header) stay silent.

    soundfile's virtual-IO callback would otherwise print "Exception ignored ... negative seek
    value" on stderr for every corrupt buffer; the read then fails cleanly as AudioError.
    """

    def seek(self, offset: int, whence: int = 0) -> int:
        try:
            return super().seek(offset, whence)
        except (ValueError, OverflowError):
            return self.tell()


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
    if isinstance(data, (str, os.PathLike)) and not os.path.exists(data):
        raise AudioError(f"{label}: not found; check the path")
    try:
        if isinstance(data, (bytes, bytearray, memoryview)):
            audio, sr = sf.read(_SeekSafeBytesIO(bytes(data)), dtype="float32", always_2d=True)
        else:
            audio, sr = sf.read(os.fspath(data), dtype="float32", always_2d=True)
    except FileNotFoundError:
        raise AudioError(f"{label}: file not found; check the path") from None
    except Exception as exc:  # libsndfile raises many types for corrupt input
        reason = " ".join(str(exc).split()) or type(exc).__name__
        reason = re.sub(r"^Error opening .*?: ", "", reason)  # libsndfile repeats the path
        raise AudioError(f"{label}: cannot decode audio ({reason}); re-encode it as WAV/FLAC or remove it") from None
    return _clean(audio, int(sr), sample_rate_hz, label, allow_silent)


def _clean(audio: np.ndarray, sr: int, sample_rate_hz: int, label: str, allow_silent: bool) -> np.ndarray:
    if audio.size == 0 or audio.shape[0] == 0:
        raise AudioError(f"{label}: audio is empty (0 samples); remove the file")
    if not MIN_SAMPLE_RATE_HZ <= sr <= MAX_SAMPLE_RATE_HZ:
        raise AudioError(
            f"{label}: sample rate {sr} Hz is outside {MIN_SAMPLE_RATE_HZ}-{MAX_SAMPLE_RATE_HZ} Hz; "
            "re-encode the file (e.g. 16 kHz WAV) or remove it"
        )
    audio = to_mono(audio)
    if not np.all(np.isfinite(audio)):
        raise AudioError(f"{label}: audio contains NaN or infinite samples; re-encode or remove it")
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:  # float files may exceed full scale: normalise instead of clipping
        audio = audio / peak
    if not allow_silent and peak < SILENCE_PEAK:
        raise AudioError(f"{label}: audio is silent (peak {peak:.1e}); remove the file")
    audio = resample(audio.astype(np.float32, copy=False), sr, sample_rate_hz)
    if audio.size == 0:
        raise AudioError(f"{label}: audio is too short to resample ({sr} Hz); remove the file")
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:  # the resampling filter overshoots on full-scale noise: keep [-1, 1]
        audio = audio / peak
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
    try:
        arr = np.asarray(audio)
        if arr.dtype.kind == "u":  # unsigned PCM (8-bit WAV style): centred on the midpoint
            mid = float(np.iinfo(arr.dtype).max) / 2.0 + 0.5
            arr = (arr.astype(np.float64) - mid) / mid
        elif arr.dtype.kind == "i":
            arr = arr.astype(np.float64) / (float(np.iinfo(arr.dtype).max) + 1.0)
        elif arr.dtype.kind not in "fb":
            raise AudioError(f"{name}: audio array has dtype {arr.dtype}; expected numbers")
        arr = arr.astype(np.float32, copy=False)
    except (TypeError, ValueError) as exc:
        raise AudioError(f"{name}: not an audio array ({exc}); remove it") from None
    if arr.ndim == 0 or arr.ndim > 2:
        raise AudioError(f"{name}: audio array has shape {list(arr.shape)}; expected [time] or [time, channels]")
    if arr.ndim == 2 and arr.shape[0] < arr.shape[1] and arr.shape[0] <= 8:
        arr = arr.T  # [channels, time] -> [time, channels]
    return _clean(arr if arr.ndim == 2 else arr[:, None], sr, sample_rate_hz, name, False)


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float [-1, 1] -> int16 with clipping."""
    return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype(np.int16)


def write_wav(path: str | os.PathLike[str], audio: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> Path:
    """Write mono 16-bit PCM WAV atomically (temp file in the same folder, then rename).

    Uses the standard library's ``wave`` writer: for the short clips stage 1 writes by the
    thousand it costs a quarter of soundfile's per-file open/close (0.14 vs 0.52 ms a clip).
    """
    path = Path(path)
    data = audio if audio.dtype == np.int16 else to_int16(audio)
    data = np.ascontiguousarray(data.reshape(-1), dtype="<i2")
    with atomic_path(path) as tmp:
        with wave.open(tmp, "wb") as fh:
            fh.setnchannels(1)
            fh.setsampwidth(2)
            fh.setframerate(int(sample_rate_hz))
            fh.writeframes(data.tobytes())
    return path


def list_audio_files(folder: str | os.PathLike[str]) -> list[Path]:
    """All audio files below ``folder`` (recursive), sorted for determinism."""
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


class AudioStream:
    """A long audio file read in blocks as 16 kHz mono float32, in bounded memory.

    Opening checks what :func:`load_audio` checks (missing, undecodable, empty, bad rate, NaN,
    silent) in one pass over the file, block by block, so errors come before any work. Blocks
    equal :func:`load_audio`'s samples (a 16 kHz file: exactly; another rate: resampled with
    enough context on both sides of each block that the polyphase filter sees what it would see
    on the whole file), except that the rare overshoot of the resampling filter above full
    scale is clipped instead of normalising the whole file.

    Attributes:
        frames: samples in the file (at its own rate); sample_rate: its rate;
        duration_s: its length in seconds; n_out: samples :meth:`blocks` yields in total.
    """

    def __init__(self, path: str | os.PathLike[str], block_s: float = 30.0) -> None:
        self.path = str(path)
        label = self.path
        if not os.path.exists(self.path):
            raise AudioError(f"{label}: not found; check the path")
        try:
            info = sf.info(self.path)
        except Exception as exc:  # libsndfile raises many types for corrupt input
            reason = re.sub(r"^Error opening .*?: ", "", " ".join(str(exc).split()) or type(exc).__name__)
            raise AudioError(f"{label}: cannot decode audio ({reason}); re-encode it as WAV/FLAC or remove it") from None
        self.sample_rate = int(info.samplerate)
        self.frames = int(info.frames)
        if self.frames <= 0:
            raise AudioError(f"{label}: audio is empty (0 samples); remove the file")
        if not MIN_SAMPLE_RATE_HZ <= self.sample_rate <= MAX_SAMPLE_RATE_HZ:
            raise AudioError(
                f"{label}: sample rate {self.sample_rate} Hz is outside {MIN_SAMPLE_RATE_HZ}-{MAX_SAMPLE_RATE_HZ} Hz; "
                "re-encode the file (e.g. 16 kHz WAV) or remove it"
            )
        self.duration_s = self.frames / self.sample_rate
        g = np.gcd(self.sample_rate, SAMPLE_RATE_HZ)
        up, down = SAMPLE_RATE_HZ // g, self.sample_rate // g
        if max(up, down) > MAX_POLYPHASE_FACTOR:
            from fractions import Fraction

            ratio = Fraction(SAMPLE_RATE_HZ, self.sample_rate).limit_denominator(MAX_POLYPHASE_FACTOR // 4)
            up, down = ratio.numerator, ratio.denominator
        self.up, self.down = up, down
        self.block = max(down, int(block_s * self.sample_rate) // down * down)
        # resample_poly's filter reaches 10 * max(up, down) upsampled samples each side
        reach = -(-10 * max(up, down) // up) + 1
        self.context = -(-reach // down) * down
        self.n_out = -(-self.frames * up // down) if (up, down) != (1, 1) else self.frames
        self.peak = 0.0
        try:
            with sf.SoundFile(self.path) as fh:
                while True:
                    x = fh.read(self.block, dtype="float32", always_2d=True)
                    if not len(x):
                        break
                    mono = to_mono(x)
                    if not np.all(np.isfinite(mono)):
                        raise AudioError(f"{label}: audio contains NaN or infinite samples; re-encode or remove it")
                    self.peak = max(self.peak, float(np.max(np.abs(mono))))
        except AudioError:
            raise
        except Exception as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise AudioError(f"{label}: cannot decode audio ({reason}); re-encode it as WAV/FLAC or remove it") from None
        if self.peak < SILENCE_PEAK:
            raise AudioError(f"{label}: audio is silent (peak {self.peak:.1e}); remove the file")

    def blocks(self) -> Iterator[np.ndarray]:
        """16 kHz mono float32 blocks (about ``block_s`` seconds each), in order."""
        scale = 1.0 / self.peak if self.peak > 1.0 else 1.0
        with sf.SoundFile(self.path) as fh:
            if (self.up, self.down) == (1, 1):
                while True:
                    x = fh.read(self.block, dtype="float32", always_2d=True)
                    if not len(x):
                        return
                    mono = to_mono(x)
                    yield (mono * scale).astype(np.float32, copy=False) if scale != 1.0 else mono
                return
            from scipy.signal import resample_poly

            for s in range(0, self.frames, self.block):
                e = min(s + self.block, self.frames)
                a, b = max(0, s - self.context), min(self.frames, e + self.context)
                fh.seek(a)
                x = to_mono(fh.read(b - a, dtype="float32", always_2d=True))
                if scale != 1.0:
                    x = x / self.peak
                y = resample_poly(x.astype(np.float32, copy=False), self.up, self.down)
                first = (s - a) * self.up // self.down
                last = None if e == self.frames else first + (e - s) * self.up // self.down
                yield np.clip(y[first:last], -1.0, 1.0).astype(np.float32, copy=False)
