"""Background audio made offline: coloured noise, babble, and tonal/musical signals.

Used when the user gives no background folder, so the default run needs no download. Each
generator returns one ``[n_samples]`` float32 segment at a random level between
:data:`LEVEL_DBFS` (RMS); the augmenter rescales backgrounds to a sampled SNR anyway, but the
level matters where segments are used directly as negatives. No segment contains digital
silence: a low noise floor is always mixed in.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wakeforge.audio.constants import SAMPLE_RATE_HZ

#: RMS level range of generated segments, dBFS.
LEVEL_DBFS = (-35.0, -15.0)
#: Chord shapes in semitones above the root: major, minor, maj7, min7, sus4.
CHORDS = ((0, 4, 7), (0, 3, 7), (0, 4, 7, 11), (0, 3, 7, 10), (0, 5, 7))
#: Noise floor added to every generated segment, relative to its RMS, in dB.
FLOOR_DB = -45.0


def colored_noise(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with power spectrum ``1 / f**exponent`` (0 white, 1 pink, 2 brown).

    Example:
        >>> x = colored_noise(16000, 1.0, np.random.default_rng(0))
        >>> x.shape, round(float(np.sqrt(np.mean(x ** 2))), 3)
        ((16000,), 1.0)
    """
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    freqs[0] = freqs[1]  # no DC blow-up for brown noise
    spec *= freqs ** (-exponent / 2.0)
    out = np.fft.irfft(spec, n=n)
    return (out / (np.sqrt(np.mean(out**2)) + 1e-12)).astype(np.float32)


def noise_segment(
    n: int, rng: np.random.Generator, sample_rate_hz: int = SAMPLE_RATE_HZ
) -> np.ndarray:
    """White/pink/brown (or in-between) noise, sometimes slowly modulated like fans or traffic."""
    out = colored_noise(n, float(rng.choice([0.0, 1.0, 2.0, rng.uniform(0.0, 2.0)])), rng)
    if rng.random() < 0.5:
        t = np.arange(n) / sample_rate_hz
        rate = rng.uniform(0.1, 2.0)
        depth = rng.uniform(0.2, 0.8)
        out *= 1.0 - depth * 0.5 * (1.0 + np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi)))
    return out.astype(np.float32)


def babble_segment(
    n: int,
    clips: Sequence[np.ndarray],
    rng: np.random.Generator,
    n_talkers: tuple[int, int] = (3, 6),
) -> np.ndarray:
    """Several talkers at once: 3–6 streams of random speech clips summed at random gains.

    Args:
        n: segment length in samples.
        clips: mono float32 speech clips (e.g. stage 1's negative clips); must not be empty.
        rng: random generator.
        n_talkers: inclusive range of simultaneous talkers.

    Returns:
        ``[n]`` float32 babble (each talker's stream is a chain of clips with short gaps).
    """
    out = np.zeros(n, dtype=np.float64)
    for _ in range(int(rng.integers(n_talkers[0], n_talkers[1] + 1))):
        stream = np.zeros(n, dtype=np.float64)
        pos = -int(rng.integers(0, n // 2 + 1))  # start mid-clip, like a conversation already going
        while pos < n:
            clip = np.asarray(clips[int(rng.integers(len(clips)))], dtype=np.float64)
            clip = clip / (np.sqrt(np.mean(clip**2)) + 1e-9)
            lo, hi = max(pos, 0), min(pos + clip.size, n)
            if hi > lo:
                stream[lo:hi] += clip[lo - pos : hi - pos]
            pos += clip.size + int(rng.integers(0, SAMPLE_RATE_HZ // 4))
        out += stream * 10.0 ** (rng.uniform(-6.0, 0.0) / 20.0)
    return (out / (np.sqrt(np.mean(out**2)) + 1e-12)).astype(np.float32)


def tonal_segment(
    n: int, rng: np.random.Generator, sample_rate_hz: int = SAMPLE_RATE_HZ
) -> np.ndarray:
    """A chord progression, mains hum with harmonics, or beeps (alarms, appliances)."""
    kind = rng.choice(["chords", "hum", "beeps"], p=[0.5, 0.25, 0.25])
    t = np.arange(n) / sample_rate_hz
    out = np.zeros(n)
    if kind == "hum":
        f0 = float(rng.choice([50.0, 60.0]))
        for k in range(1, int(rng.integers(3, 12))):
            out += (
                rng.uniform(0.1, 1.0)
                / k
                * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi))
            )
    elif kind == "beeps":
        freq = rng.uniform(400.0, 3500.0)
        period = rng.uniform(0.2, 1.5)
        duty = rng.uniform(0.1, 0.6)
        gate = ((t + rng.uniform(0, period)) % period) < duty * period
        ramp = max(int(0.005 * sample_rate_hz), 1)  # 5 ms ramps: no clicks
        gate = np.convolve(gate.astype(float), np.ones(ramp) / ramp, mode="same")
        out = gate * (np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(2 * np.pi * 2 * freq * t))
    else:
        pos = 0
        while pos < n:
            dur = int(rng.uniform(0.25, 1.2) * sample_rate_hz)
            root = 110.0 * 2.0 ** (int(rng.integers(0, 24)) / 12.0)
            intervals = CHORDS[int(rng.integers(len(CHORDS)))]
            seg_t = np.arange(min(dur, n - pos)) / sample_rate_hz
            # 10 ms attack and release: a chord cut mid-decay would click at every change.
            env = np.exp(-seg_t * rng.uniform(0.5, 6.0)) * np.minimum(seg_t / 0.01, 1.0)
            env *= np.minimum((seg_t[-1] - seg_t) / 0.01, 1.0)
            note = np.zeros_like(seg_t)
            for semi in intervals:
                f = root * 2.0 ** (semi / 12.0)
                for h in range(1, 5):  # a few harmonics: a plucked/organ-like timbre
                    if f * h < sample_rate_hz / 2:
                        note += rng.uniform(0.2, 1.0) / h * np.sin(2 * np.pi * f * h * seg_t)
            out[pos : pos + seg_t.size] += env * note
            pos += seg_t.size
    out = out / (np.sqrt(np.mean(out**2)) + 1e-12)
    return out.astype(np.float32)


def finish_segment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add a noise floor (no digital silence) and set a random RMS level in :data:`LEVEL_DBFS`."""
    x = x / (np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)
    x = x + 10.0 ** (FLOOR_DB / 20.0) * colored_noise(x.size, 1.0, rng)
    level = 10.0 ** (rng.uniform(*LEVEL_DBFS) / 20.0)
    x = x * (level / (np.sqrt(np.mean(x**2)) + 1e-12))
    peak = float(np.max(np.abs(x)))
    if peak > 0.99:
        x = x * (0.99 / peak)
    return x.astype(np.float32)


def generate_segments(
    n_segments: int,
    segment_samples: int,
    rng: np.random.Generator,
    speech_clips: Sequence[np.ndarray] | None = None,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
) -> np.ndarray:
    """A mix of generated backgrounds: noise, babble (when speech clips are given) and tones.

    Args:
        n_segments: number of segments.
        segment_samples: samples per segment.
        rng: random generator.
        speech_clips: mono float32 speech clips for babble; ``None``/empty skips babble.
        sample_rate_hz: sample rate.

    Returns:
        ``[n_segments, segment_samples]`` float32.
    """
    kinds = ["noise", "tonal"] + (["babble"] if speech_clips else [])
    weights = np.array([0.35, 0.3, 0.35][: len(kinds)])
    out = np.empty((n_segments, segment_samples), dtype=np.float32)
    for i in range(n_segments):
        kind = rng.choice(kinds, p=weights / weights.sum())
        if kind == "noise":
            seg = noise_segment(segment_samples, rng, sample_rate_hz)
        elif kind == "babble":
            assert speech_clips
            seg = babble_segment(segment_samples, speech_clips, rng)
        else:
            seg = tonal_segment(segment_samples, rng, sample_rate_hz)
        out[i] = finish_segment(seg, rng)
    return out
