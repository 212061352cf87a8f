"""Audio fed to the detector: int16 conversion, noise padding, SNR mixing, per-file noise."""

from __future__ import annotations

import zlib

import numpy as np

from wakeforge.audio.constants import CHUNK_SAMPLES, SAMPLE_RATE_HZ
from wakeforge.core.errors import AudioError
from wakeforge.evaluation.streaming.frames import DEFAULT_PAD_DBFS, DEFAULT_PAD_S


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] (or int16) to int16, as a sound card would deliver it.

    Scales by 32768, the inverse of soundfile's int16 -> float, so a 16-bit WAV read with
    ``load_audio`` gives back exactly the samples the detector would read from the file.

    Example:
        >>> to_int16(np.array([-1.0, -0.5, 0.0, 1.0], np.float32)).tolist()
        [-32768, -16384, 0, 32767]
    """
    audio = np.asarray(audio)
    if audio.dtype == np.int16:
        return audio
    scaled = np.round(audio.astype(np.float64) * 32768.0)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def pad_with_noise(
    audio: np.ndarray,
    before_samples: int,
    after_samples: int,
    rng: np.random.Generator,
    level_dbfs: float = DEFAULT_PAD_DBFS,
) -> np.ndarray:
    """Surround float audio with low white noise.

    Args:
        audio: ``[T]`` float32 in [-1, 1], 16 kHz.
        before_samples: Samples of noise before the audio.
        after_samples: Samples of noise after it.
        rng: Source of the noise.
        level_dbfs: Noise RMS in dB full scale (-60 dBFS is about int16 std 33).

    Returns:
        ``[before + T + after]`` float32.

    Example:
        >>> out = pad_with_noise(np.zeros(100, np.float32), 160, 40, np.random.default_rng(0))
        >>> out.shape, bool(np.all(out[:160] != 0))
        ((300,), True)
    """
    audio = np.asarray(audio, dtype=np.float32)
    std = 10.0 ** (level_dbfs / 20.0)
    pre = rng.normal(0.0, std, max(int(before_samples), 0)).astype(np.float32)
    post = rng.normal(0.0, std, max(int(after_samples), 0)).astype(np.float32)
    return np.concatenate([pre, audio, post])


def active_rms(audio: np.ndarray, frame: int = 320, floor_db: float = 30.0) -> float:
    """RMS of the frames within ``floor_db`` of the loudest 20 ms frame (speech level).

    Leading/trailing silence in a clip does not dilute the level an SNR refers to.

    Example:
        >>> a = np.concatenate([np.zeros(16000), 0.5 * np.ones(3200)]).astype(np.float32)
        >>> round(active_rms(a), 3)
        0.5
    """
    audio = np.asarray(audio, dtype=np.float64)
    n = len(audio) // frame
    if n == 0:
        return float(np.sqrt(np.mean(audio**2))) if len(audio) else 0.0
    power = np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1)
    peak = float(power.max())
    if peak <= 0.0:
        return 0.0
    keep = power >= peak * 10.0 ** (-floor_db / 10.0)
    return float(np.sqrt(power[keep].mean()))


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of unit-RMS pink (1/f power) noise, float32.

    Example:
        >>> x = pink_noise(16000, np.random.default_rng(0))
        >>> round(float(np.sqrt(np.mean(x ** 2))), 3)
        1.0
    """
    n = int(n)
    spec = np.fft.rfft(rng.normal(size=max(n, 2)))
    f = np.arange(spec.shape[0], dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n=max(n, 2))[:n]
    x -= x.mean()
    rms = float(np.sqrt(np.mean(x**2))) or 1.0
    return (x / rms).astype(np.float32)


def mix_at_snr(
    audio: np.ndarray,
    noise: np.ndarray | None,
    snr_db: float,
    rng: np.random.Generator,
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """Add noise to ``audio`` so that speech-to-noise ratio is ``snr_db``.

    Args:
        audio: ``[T]`` float32 audio to mix into (e.g. a padded clip).
        noise: Background audio (tiled from a random offset to length ``T``); ``None`` uses
            pink noise.
        snr_db: Target ratio of the speech level (:func:`active_rms` of ``reference``) to the
            noise RMS, in dB.
        rng: Source of the offset / pink noise.
        reference: Audio whose level defines "speech" (default ``audio``); pass the unpadded
            clip when ``audio`` is padded.

    Returns:
        ``[T]`` float32, clipped to [-1, 1].
    """
    audio = np.asarray(audio, dtype=np.float32)
    t = len(audio)
    if noise is None or len(noise) == 0:
        bg = pink_noise(t, rng)
    else:
        noise = np.asarray(noise, dtype=np.float32)
        start = int(rng.integers(0, len(noise)))
        reps = int(np.ceil((start + t) / len(noise)))
        bg = np.tile(noise, reps)[start : start + t]
    bg_rms = float(np.sqrt(np.mean(bg.astype(np.float64) ** 2)))
    level = active_rms(audio if reference is None else reference)
    if bg_rms <= 0.0 or level <= 0.0:
        return audio
    gain = level / bg_rms * 10.0 ** (-float(snr_db) / 20.0)
    return np.clip(audio + gain * bg, -1.0, 1.0).astype(np.float32)


def file_rng(seed: int, label: str) -> np.random.Generator:
    """Generator for one file's padding/mixing noise: same file, same noise, any order."""
    return np.random.default_rng([int(seed), zlib.crc32(label.encode("utf-8"))])


def prepare_audio(
    audio: np.ndarray,
    *,
    lead_chunks: int,
    pad_s: float = DEFAULT_PAD_S,
    pad_dbfs: float = DEFAULT_PAD_DBFS,
    rng: np.random.Generator,
    background: np.ndarray | None = None,
    snr_db: float | None = None,
) -> np.ndarray:
    """Lead-in noise + audio + tail noise (+ optional background at an SNR), as int16.

    Args:
        audio: ``[T]`` float32 in [-1, 1] (int16 is accepted too).
        lead_chunks: Whole 1280-sample chunks of noise before the audio.
        pad_s: Seconds of noise after the audio.
        pad_dbfs: Level of the padding noise.
        rng: Noise source.
        background: Noise to mix in (``None``: pink noise) when ``snr_db`` is given.
        snr_db: Speech-to-noise ratio of the mix; ``None`` mixes nothing.

    Returns:
        ``[lead_chunks * 1280 + T + pad]`` int16.
    """
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise AudioError(f"expected mono audio [T]; got shape {audio.shape}")
    if audio.dtype == np.int16:
        audio = audio.astype(np.float32) / 32768.0
    audio = audio.astype(np.float32, copy=False)
    padded = pad_with_noise(audio, int(lead_chunks) * CHUNK_SAMPLES,
                            int(round(float(pad_s) * SAMPLE_RATE_HZ)), rng, pad_dbfs)
    if snr_db is not None:
        padded = mix_at_snr(padded, background, snr_db, rng, reference=audio)
    return to_int16(padded)
