"""Background audio made offline: coloured noise, babble, tonal/musical and household signals.

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


def _damped(n: int, freqs: Sequence[float], decay_s: float, rng: np.random.Generator, sample_rate_hz: int) -> np.ndarray:
    t = np.arange(n) / sample_rate_hz
    out = np.zeros(n)
    for f in freqs:
        out += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return out * np.exp(-t / decay_s)


def _band_noise(n: int, lo_hz: float, hi_hz: float, rng: np.random.Generator, sample_rate_hz: int) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sample_rate_hz)
    spec[(f < lo_hz) | (f > hi_hz)] = 0.0
    out = np.fft.irfft(spec, n=n)
    return out / (np.sqrt(np.mean(out**2)) + 1e-12)


def household_segment(
    n: int, rng: np.random.Generator, sample_rate_hz: int = SAMPLE_RATE_HZ
) -> np.ndarray:
    """Kitchen and household sounds: running water or a motor under clinks, knocks and rustles.

    Hand-written (no package ships such recordings): a bed of running water (band noise whose
    level flickers tens of times a second, with bubbles) or of a machine (a motor's harmonics
    and noise swelling at a pedalling or spinning rate), or none, under impulsive events at
    random times: clinks of crockery and cutlery (damped partials at 1.5-8 kHz), knocks and
    thuds (damped low partials with a noise burst) and rustles (band noise bursts). These are
    what stationary noise and tones do not cover: sounds that start and stop within a word.

    Example:
        >>> x = household_segment(16000, np.random.default_rng(0))
        >>> x.shape, bool(np.isfinite(x).all()), round(float(np.sqrt(np.mean(x ** 2))), 3)
        ((16000,), True, 1.0)
    """
    t = np.arange(n) / sample_rate_hz
    bed_kind = rng.choice(["water", "machine", "none"], p=[0.4, 0.35, 0.25])
    bed = np.zeros(n)
    if bed_kind == "water":
        bed = _band_noise(n, rng.uniform(200.0, 800.0), rng.uniform(3000.0, 7900.0), rng, sample_rate_hz)
        # Flicker: a random envelope low-passed to ~10-60 Hz.
        k = max(1, int(sample_rate_hz / rng.uniform(10.0, 60.0)))
        env = np.convolve(rng.uniform(0.3, 1.0, n), np.ones(k) / k, mode="same")
        bed *= env / (env.mean() + 1e-9)
        for _ in range(int(rng.integers(0, 4 * max(1, n // sample_rate_hz) + 1))):  # bubbles: short rising chirps
            m = int(rng.uniform(0.005, 0.03) * sample_rate_hz)
            pos = int(rng.integers(0, max(1, n - m)))
            tt = np.arange(m) / sample_rate_hz
            f0 = rng.uniform(500.0, 3000.0)
            chirp = np.sin(2 * np.pi * f0 * tt * (1 + rng.uniform(0.5, 3.0) * tt / tt[-1] / 2)) * np.exp(-tt / (tt[-1] / 3 + 1e-9))
            bed[pos : pos + m] += rng.uniform(1.0, 4.0) * chirp
    elif bed_kind == "machine":
        f0 = rng.uniform(30.0, 200.0)
        for h in range(1, int(rng.integers(2, 8))):
            if f0 * h < sample_rate_hz / 2:
                bed += rng.uniform(0.1, 1.0) / h * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi))
        bed /= np.sqrt(np.mean(bed**2)) + 1e-12
        bed += rng.uniform(0.3, 1.5) * colored_noise(n, float(rng.uniform(0.5, 2.0)), rng)
        rate = rng.uniform(0.5, 3.0)  # pedalling, a drum turning
        bed *= 1.0 - rng.uniform(0.2, 0.8) * 0.5 * (1.0 + np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi)))
    if bed_kind != "none":
        bed /= np.sqrt(np.mean(bed**2)) + 1e-12
    events = np.zeros(n)
    n_events = int(rng.poisson(rng.uniform(1.0, 6.0) * n / sample_rate_hz)) + (1 if bed_kind == "none" else 0)
    for _ in range(n_events):
        kind = rng.choice(["clink", "knock", "rustle"], p=[0.45, 0.3, 0.25])
        if kind == "clink":
            m = int(rng.uniform(0.05, 0.4) * sample_rate_hz)
            freqs = rng.uniform(1500.0, 7800.0, int(rng.integers(2, 5)))
            ev = _damped(m, freqs, rng.uniform(0.01, 0.12), rng, sample_rate_hz)
        elif kind == "knock":
            m = int(rng.uniform(0.05, 0.2) * sample_rate_hz)
            ev = _damped(m, rng.uniform(60.0, 500.0, int(rng.integers(1, 4))), rng.uniform(0.008, 0.05), rng, sample_rate_hz)
            burst = int(0.004 * sample_rate_hz)
            ev[:burst] += rng.standard_normal(burst) * np.linspace(1.0, 0.0, burst)
        else:
            m = int(rng.uniform(0.05, 0.3) * sample_rate_hz)
            ev = _band_noise(m, rng.uniform(500.0, 2000.0), rng.uniform(3000.0, 7900.0), rng, sample_rate_hz)
            ev *= np.hanning(m)
        ev /= np.max(np.abs(ev)) + 1e-12
        pos = int(rng.integers(0, max(1, n - m)))
        events[pos : pos + m] += rng.uniform(0.3, 1.0) * ev[: n - pos]
    if bed_kind == "none":
        out = events
    else:
        # Event peaks stand 6-24 dB above the bed's RMS: a clink heard over the tap.
        out = bed + events * 10.0 ** (rng.uniform(6.0, 24.0) / 20.0)
    return (out / (np.sqrt(np.mean(out**2)) + 1e-12)).astype(np.float32)


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
    household_share: float = 0.0,
) -> np.ndarray:
    """A mix of generated backgrounds: noise, babble (when speech clips are given) and tones.

    Args:
        n_segments: number of segments.
        segment_samples: samples per segment.
        rng: random generator.
        speech_clips: mono float32 speech clips for babble; ``None``/empty skips babble.
        sample_rate_hz: sample rate.
        household_share: share of segments that are :func:`household_segment`; the others
            keep their relative weights. 0 draws exactly as before the option existed.

    Returns:
        ``[n_segments, segment_samples]`` float32.
    """
    kinds = ["noise", "tonal"] + (["babble"] if speech_clips else [])
    weights = np.array([0.35, 0.3, 0.35][: len(kinds)])
    if household_share > 0:
        weights = np.append(weights / weights.sum() * (1.0 - household_share), household_share)
        kinds.append("household")
    out = np.empty((n_segments, segment_samples), dtype=np.float32)
    for i in range(n_segments):
        kind = rng.choice(kinds, p=weights / weights.sum())
        if kind == "noise":
            seg = noise_segment(segment_samples, rng, sample_rate_hz)
        elif kind == "household":
            seg = household_segment(segment_samples, rng, sample_rate_hz)
        elif kind == "babble":
            assert speech_clips
            seg = babble_segment(segment_samples, speech_clips, rng)
        else:
            seg = tonal_segment(segment_samples, rng, sample_rate_hz)
        out[i] = finish_segment(seg, rng)
    return out
