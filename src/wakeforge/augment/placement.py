"""Placing variable-length clips into fixed training windows, over noise instead of zeros.

openWakeWord's head sees the last 16 embedding frames (1.28 s) of a window, and the detector
fires on the frame where the phrase has just ended, so positives are placed with their end
``end_jitter_s`` (0–200 ms, openWakeWord's ``create_fixed_size_clip``) before the window end.
Negatives go anywhere (``mode="random"``), so the model cannot learn "speech ending at the window
end means positive".

The window is filled with low-level noise first (a random background segment, or dither) and
the clip is added on top: exact-zero padding makes batch features differ from what the
streaming detector computes (see DESIGN.md, "Streaming vs batch features").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from wakeforge.audio.constants import FRAME_SAMPLES, SAMPLE_RATE_HZ
from wakeforge.augment.dsp import crop_rows

#: Default RMS level range of the padding noise, dBFS.
PAD_DBFS = (-60.0, -40.0)

ClipLike = np.ndarray | Tensor


def window_samples(
    clip_lengths: Sequence[int],
    min_s: float = 2.0,
    margin_s: float = 0.75,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
) -> int:
    """Training window length for a set of clips, following openWakeWord's rule.

    openWakeWord uses the median clip length + 750 ms, at least 2 s. The result is rounded up to
    a whole number of embedding frames (80 ms = 1280 samples): 2 s = 25 frames gives exactly 16
    embeddings, and every extra 1280 samples adds exactly one, so the window end falls on the
    same position within the last embedding for every length.

    Args:
        clip_lengths: clip lengths in samples.
        min_s: shortest window, seconds.
        margin_s: added to the median clip length, seconds.
        sample_rate_hz: sample rate.

    Returns:
        Window length in samples (a multiple of 1280).

    Example:
        >>> window_samples([16000, 20000, 24000])
        32000
        >>> window_samples([30000])
        42240
    """
    median = (
        float(np.median(np.asarray(clip_lengths, dtype=np.float64))) if len(clip_lengths) else 0.0
    )
    want = max(min_s * sample_rate_hz, median + margin_s * sample_rate_hz)
    return int(np.ceil(want / FRAME_SAMPLES) * FRAME_SAMPLES)


def _to_float(clip: ClipLike) -> Tensor:
    t = clip if isinstance(clip, Tensor) else torch.from_numpy(np.asarray(clip))
    if not t.dtype.is_floating_point:  # int16 PCM from stage 1's WAVs
        t = t.float() / 32768.0
    return t.float().reshape(-1)


def _generator(rng: torch.Generator | int | None) -> torch.Generator:
    if isinstance(rng, torch.Generator):
        return rng
    g = torch.Generator()
    g.manual_seed(int(rng) if rng is not None else int(torch.randint(0, 2**62, (1,))))
    return g


def padding_noise(
    batch: int,
    length: int,
    generator: torch.Generator,
    background: Tensor | None = None,
    pad_dbfs: tuple[float, float] = PAD_DBFS,
) -> Tensor:
    """Low-level noise to fill windows: random background segments, or dither.

    Args:
        batch: number of windows.
        length: samples per window.
        generator: CPU generator for every random draw.
        background: ``[n, L]`` background bank, or ``None`` for Gaussian dither.
        pad_dbfs: RMS level range in dBFS.

    Returns:
        ``[batch, length]`` float32 noise, each row at a random level within ``pad_dbfs``.
    """
    if background is not None and background.shape[0] > 0:
        seg = torch.randint(0, background.shape[0], (batch,), generator=generator)
        seg_len = background.shape[1]
        n_starts = seg_len - length + 1 if seg_len >= length else seg_len
        start = torch.randint(0, n_starts, (batch,), generator=generator)
        noise = crop_rows(background, seg, start, length).float().cpu()
    else:
        noise = torch.randn(batch, length, generator=generator)
    rms = noise.pow(2).mean(dim=-1, keepdim=True).sqrt().clamp(min=1e-9)
    lo, hi = pad_dbfs
    level_db = lo + (hi - lo) * torch.rand(batch, 1, generator=generator)
    return noise / rms * torch.pow(10.0, level_db / 20.0)


def place_clips(
    clips: Sequence[ClipLike],
    length_samples: int,
    mode: str = "end",
    end_jitter_s: tuple[float, float] = (0.0, 0.2),
    background: Tensor | None = None,
    rng: torch.Generator | int | None = None,
    *,
    pad_dbfs: tuple[float, float] = PAD_DBFS,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    return_offsets: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Place clips into fixed-length windows filled with low-level noise.

    Args:
        clips: ``B`` mono clips (float in [-1, 1] or int16), any lengths.
        length_samples: window length ``T`` in samples.
        mode: ``"end"``: each clip ends ``end_jitter_s`` before the window end (positives);
            ``"random"``: each clip starts at a uniform random offset (negatives).
        end_jitter_s: ``(min, max)`` seconds between the clip end and the window end.
        background: ``[n, L]`` background bank used as padding noise, or ``None`` for dither.
        rng: seeded CPU generator (or an int seed) for offsets, jitter and padding.
        pad_dbfs: RMS level range of the padding noise, dBFS.
        sample_rate_hz: sample rate.
        return_offsets: also return where each clip's first kept sample landed.

    Returns:
        ``[B, T]`` float32 windows in [-1, 1] (a row is peak-normalised only if it clips); with
        ``return_offsets``, also ``[B]`` int64 start positions (negative when the clip's start
        was cut off to fit; ``offset + len(clip)`` is then still its end).

    Example:
        >>> out = place_clips([np.ones(8000, np.float32) * 0.5], 32000, rng=0)
        >>> out.shape, bool((out[0, -3200:].abs() > 0.4).any())
        (torch.Size([1, 32000]), True)
    """
    if mode not in ("end", "random"):
        raise ValueError(f"mode must be 'end' or 'random', got {mode!r}")
    lo_j, hi_j = (float(end_jitter_s[0]), float(end_jitter_s[1]))
    if not 0.0 <= lo_j <= hi_j:
        raise ValueError(f"end_jitter_s must satisfy 0 <= min <= max, got {end_jitter_s}")
    g = _generator(rng)
    batch = len(clips)
    out = padding_noise(batch, length_samples, g, background, pad_dbfs)
    offsets = torch.zeros(batch, dtype=torch.long)
    for i, clip in enumerate(clips):
        x = _to_float(clip)
        n = x.numel()
        if mode == "end":
            jitter = round(
                (lo_j + (hi_j - lo_j) * float(torch.rand((), generator=g))) * sample_rate_hz
            )
            end = length_samples - min(jitter, length_samples - 1)
            start = end - n
        elif n <= length_samples:
            start = int(torch.randint(0, length_samples - n + 1, (), generator=g))
            end = start + n
        else:  # longer than the window: a random stretch of it
            start = -int(torch.randint(0, n - length_samples + 1, (), generator=g))
            end = start + n
        offsets[i] = start
        lo, hi = max(start, 0), min(end, length_samples)
        out[i, lo:hi] += x[lo - start : hi - start]
    peak = out.abs().amax(dim=-1, keepdim=True)
    out = torch.where(peak > 1.0, out / peak.clamp(min=1.0), out)
    return (out, offsets) if return_offsets else out
