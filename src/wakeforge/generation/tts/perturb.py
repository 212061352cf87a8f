"""Pseudo-speakers: per-clip pitch, formant (vocal-tract length) and tempo changes, and trimming.

Hand-written with numpy/scipy on purpose: the stage must keep its end-to-end rate within 10 %
of raw Piper synthesis (~80 ms a clip per core), so a perturbation may cost only a few
milliseconds. Vocoder routes (WORLD via ``pyworld``: ~70 ms per second of audio) or Praat
(``parselmouth``, GPL) cost as much as the synthesis itself. The route here:

1. **Tempo** is free: the engine speaks with ``length_scale * P / tempo`` (see
   :func:`synth_length_scale`), so after step 2 the clip has the sampled prosody and tempo.
2. **Pitch** by resampling: reading audio made at ``sr`` as if it were at ``sr * P`` and
   resampling to 16 kHz scales pitch *and* formants by ``P`` (a "tape speed" change). This is
   folded into the 22.05 -> 16 kHz resampling every clip needs anyway (:func:`resample_pitch`).
3. **Formants** by warping the spectral envelope: an STFT, a cepstrally smoothed log envelope
   per frame, and a per-frame gain ``env(f * P / F) / env(f)`` that moves the envelope from
   ``P`` to the target vocal-tract factor ``F`` while the harmonics (pitch) stay put
   (:func:`warp_formants`, ~2 ms per second of audio).

Within the configured ranges (pitch +-3 semitones, formant 0.88-1.14) the reference
``hey_jarvis_v0.1`` head still scores perturbed Piper clips like the originals (see
``scripts/bench_generate.py score``).

Example:
    >>> import numpy as np
    >>> sr = 22050
    >>> t = np.arange(sr) / sr
    >>> x = (0.5 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    >>> y = apply_pseudo_speaker(x, sr, pitch_semitones=2.0, formant_warp=1.05)
    >>> y.dtype, abs(len(y) - 16000 / 2 ** (2 / 12)) < 2
    (dtype('float32'), True)
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from wakeforge.audio.constants import SAMPLE_RATE_HZ

N_FFT = 512
HOP = 128
#: Cepstral lifter (in samples at 16 kHz): keeps envelope detail above ~1.9 ms, below the
#: pitch period of voices up to ~500 Hz.
LIFTER = 30
#: Largest envelope gain change allowed per bin (natural log, ~35 dB).
MAX_LOG_GAIN = 4.0


def synth_length_scale(length_scale: float, pitch_semitones: float, tempo: float) -> float:
    """Length scale to ask the engine for, so the clip ends with ``length_scale / tempo``.

    Resampling for a pitch factor ``P`` shortens audio by ``1 / P``; pre-lengthen by ``P``.

    Example:
        >>> round(synth_length_scale(1.0, 12.0, 1.0), 3)
        2.0
    """
    return float(length_scale) * 2.0 ** (float(pitch_semitones) / 12.0) / float(tempo)


@functools.lru_cache(maxsize=256)
def _polyphase_filter(up: int, down: int) -> np.ndarray:
    # Same design as scipy.signal.resample_poly (Kaiser, beta 5, half-length 10 * max(up, down)),
    # cached: designing a filter costs more than applying it to a one-second clip. scipy.signal
    # is imported here, not at module level: the planner (main process) imports this module for
    # synth_length_scale and must not pay scipy.signal's ~1 s import while workers wait for work.
    from scipy.signal import firwin

    max_rate = max(up, down)
    half_len = 10 * max_rate
    h = firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    return (h * up).astype(np.float64)


def warm_up(sr_in: int = 22050) -> None:
    """Import scipy.signal/scipy.fft and build the plain-resampling filter now
    (worker start-up, while the main process plans) rather than on the first clip."""
    import scipy.signal  # noqa: F401

    import scipy.fft  # noqa: F401

    _polyphase_filter(*_ratio(sr_in, SAMPLE_RATE_HZ, 1.0))


def _ratio(sr_in: float, sr_out: int, pitch_factor: float) -> tuple[int, int]:
    frac = (
        Fraction(sr_out) / Fraction(sr_in * pitch_factor).limit_denominator(1000)
    ).limit_denominator(500)
    return frac.numerator, frac.denominator


def resample_pitch(
    audio: np.ndarray, sr_in: int, pitch_factor: float = 1.0, sr_out: int = SAMPLE_RATE_HZ
) -> np.ndarray:
    """Resample ``audio`` from ``sr_in`` to ``sr_out`` while scaling pitch+formants by ``pitch_factor``.

    Duration scales by ``1 / pitch_factor``. With ``pitch_factor == 1`` this is plain
    resampling (22050 -> 16000 uses the exact 320/441 ratio).

    Example:
        >>> resample_pitch(np.zeros(22050, np.float32), 22050).shape
        (16000,)
    """
    from scipy.signal import upfirdn

    up, down = _ratio(sr_in, sr_out, pitch_factor)
    x = np.asarray(audio, dtype=np.float64)
    if up == down == 1:
        return x.astype(np.float32)
    h = _polyphase_filter(up, down)
    n_out = -(-len(x) * up // down)
    half = (len(h) - 1) // 2
    # Shift so output sample 0 aligns with input sample 0 (as resample_poly does).
    n_pre_pad = down - half % down
    n_pre_remove = (half + n_pre_pad) // down
    y = upfirdn(np.concatenate([np.zeros(n_pre_pad), h]), x, up, down)
    if len(y) < n_pre_remove + n_out:
        y = np.pad(y, (0, n_pre_remove + n_out - len(y)))
    return y[n_pre_remove : n_pre_remove + n_out].astype(np.float32)


def _stft(x: np.ndarray, win: np.ndarray) -> tuple[np.ndarray, int]:
    pad = N_FFT // 2
    xp = np.pad(x, (pad, pad + HOP), mode="reflect" if len(x) > pad + HOP else "constant")
    frames = sliding_window_view(xp, N_FFT)[::HOP] * win
    return np.fft.rfft(frames, axis=1), len(xp)


def _istft(spec: np.ndarray, win: np.ndarray, n_padded: int, n_out: int) -> np.ndarray:
    frames = np.fft.irfft(spec, n=N_FFT, axis=1) * win
    # Overlap-add without a Python loop over frames: N_FFT is a multiple of HOP, so frame i
    # covers hop blocks i .. i + N_FFT/HOP - 1; add each of those block columns with one
    # strided slice. The window-power normaliser is the same sum over win**2.
    k = N_FFT // HOP
    n_frames = len(frames)
    n_blocks = max(n_frames + k - 1, -(-n_padded // HOP))
    blocks = np.zeros((n_blocks, HOP))
    norm_blocks = np.zeros((n_blocks, HOP))
    fr = frames.reshape(n_frames, k, HOP)
    w2 = (win**2).reshape(k, HOP)
    for j in range(k):
        blocks[j : j + n_frames] += fr[:, j]
        norm_blocks[j : j + n_frames] += w2[j]
    out = blocks.reshape(-1)
    norm = norm_blocks.reshape(-1)
    pad = N_FFT // 2
    return out[pad : pad + n_out] / np.maximum(norm[pad : pad + n_out], 1e-8)


@functools.lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return np.hanning(N_FFT + 1)[:-1]


def _smooth_log_spectrum(log_mag: np.ndarray) -> np.ndarray:
    """Cepstrally smoothed log envelope of each frame (rows of ``[frames, N_FFT/2+1]``).

    Same as ``irfft`` -> keep quefrencies below LIFTER -> ``rfft``: for a real, even spectrum
    that pair is a DCT-I each way, so two length-257 DCTs per frame do it without building the
    full cepstrum (and without a BLAS matmul, whose thread pool would spin on every core).
    """
    from scipy.fft import dct

    cep = dct(log_mag, type=1, axis=1) / N_FFT
    cep[:, LIFTER:] = 0.0
    return dct(cep, type=1, axis=1)


def warp_formants(audio: np.ndarray, factor: float) -> np.ndarray:
    """Scale formant frequencies by ``factor`` (> 1: shorter vocal tract), keeping pitch.

    Args:
        audio: ``[time]`` float audio at 16 kHz.
        factor: formant frequency multiplier, e.g. 0.9 (larger speaker) .. 1.15 (smaller).

    Returns:
        ``[time]`` float32, same length.

    Example:
        >>> x = np.random.default_rng(0).normal(size=8000).astype(np.float32)
        >>> warp_formants(x, 1.1).shape
        (8000,)
    """
    x = np.asarray(audio, dtype=np.float64)
    if abs(factor - 1.0) < 1e-3 or len(x) < N_FFT:
        return x.astype(np.float32)
    win = _window()
    spec, n_padded = _stft(x, win)
    log_mag = np.log(np.abs(spec) + 1e-6)
    env = _smooth_log_spectrum(log_mag)  # smoothed log envelope per frame
    n_bins = env.shape[1]
    src = np.arange(n_bins) / factor  # target envelope at f = source envelope at f / factor
    i0 = np.clip(np.floor(src).astype(int), 0, n_bins - 1)
    i1 = np.clip(i0 + 1, 0, n_bins - 1)
    frac = np.clip(src - i0, 0.0, 1.0)
    warped = env[:, i0] * (1.0 - frac) + env[:, i1] * frac
    gain = np.exp(np.clip(warped - env, -MAX_LOG_GAIN, MAX_LOG_GAIN))
    y = _istft(spec * gain, win, n_padded, len(x))
    return y.astype(np.float32)


def apply_pseudo_speaker(
    audio: np.ndarray,
    sr_in: int,
    *,
    pitch_semitones: float = 0.0,
    formant_warp: float = 1.0,
    sr_out: int = SAMPLE_RATE_HZ,
) -> np.ndarray:
    """Engine audio -> 16 kHz audio with pitch scaled by ``2**(st/12)`` and formants by ``formant_warp``.

    Duration shrinks by the pitch factor; synthesise with :func:`synth_length_scale` to undo it.
    """
    p = 2.0 ** (float(pitch_semitones) / 12.0)
    y = resample_pitch(audio, sr_in, p, sr_out)
    return warp_formants(y, float(formant_warp) / p)


def trim_silence(
    audio: np.ndarray,
    sr: int = SAMPLE_RATE_HZ,
    *,
    threshold_db: float = -40.0,
    floor_dbfs: float = -60.0,
    frame_s: float = 0.01,
    margin_start_s: float = 0.02,
    margin_end_s: float = 0.05,
) -> np.ndarray:
    """Cut leading/trailing silence: frames quieter than ``threshold_db`` below the loudest frame
    (and below ``floor_dbfs``) are dropped, keeping short margins so onsets/releases survive.

    Returns an empty array when nothing is above the threshold.

    Example:
        >>> x = np.concatenate([np.zeros(8000), 0.5 * np.ones(4000), np.zeros(8000)])
        >>> 4000 <= len(trim_silence(x)) <= 4000 + 0.07 * 16000
        True
    """
    x = np.asarray(audio, dtype=np.float32)
    hop = max(1, int(frame_s * sr))
    n = len(x) // hop
    if n == 0:
        return x[:0]
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1) + 1e-12)
    db = 20 * np.log10(rms)
    thr = max(float(db.max()) + threshold_db, floor_dbfs)
    active = np.nonzero(db > thr)[0]
    if active.size == 0:
        return x[:0]
    start = max(0, active[0] * hop - int(margin_start_s * sr))
    end = min(len(x), (active[-1] + 1) * hop + int(margin_end_s * sr))
    return x[start:end]


def normalize_peak(audio: np.ndarray, peak: float = 0.89) -> np.ndarray:
    """Scale so the largest magnitude is ``peak`` (about -1 dBFS)."""
    m = float(np.max(np.abs(audio))) if audio.size else 0.0
    if m < 1e-9:
        return audio.astype(np.float32)
    return (audio * (peak / m)).astype(np.float32)


def dither_to_int16(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Quantise to int16 with triangular dither, so no stretch is exact digital silence."""
    x = np.clip(audio, -1.0, 1.0) * 32767.0
    x = x + rng.uniform(-0.5, 0.5, x.shape) + rng.uniform(-0.5, 0.5, x.shape)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)
