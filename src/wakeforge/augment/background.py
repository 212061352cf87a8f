"""The background bank: fixed-length segments of noise, music or speech held in memory.

:func:`load_background_bank` returns ``[n, L]`` float32 segments that the augmenter mixes into
clips at a sampled SNR (random segment, random offset, on the device) and that placement uses for
padding. Sources:

* user folders (``augmentation.background_paths``): any format/rate/channel count via
  :func:`~wakeforge.audio.io.load_audio`; long files are cut into consecutive segments, short
  ones looped with a crossfade (never zero-padded). Each folder's segments are repeated by its
  ``background_paths_duplication_rate`` (fractions allowed), so a small folder of real room
  noise can weigh as much as hours of music. Unreadable or silent files are skipped and counted
  in one summary line.
* no folder: generated offline (:mod:`wakeforge.augment.synthetic`): white/pink/brown noise,
  babble from the speech clips passed as ``extra_clips`` (stage 1's negatives), chords, mains
  hum and beeps.

The bank is capped at ``max_seconds`` of audio (memory: 1 h at 16 kHz float32 ≈ 230 MB).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from wakeforge.audio.constants import SAMPLE_RATE_HZ
from wakeforge.audio.io import SILENCE_PEAK, list_audio_files, load_audio
from wakeforge.augment.synthetic import generate_segments
from wakeforge.core.errors import AudioError, ConfigError

log = logging.getLogger(__name__)

#: Babble draws from at most this many speech clips (loading more adds nothing but time).
MAX_BABBLE_SOURCES = 400
#: Crossfade used when looping a short file, in seconds.
LOOP_CROSSFADE_S = 0.02

AudioSource = np.ndarray | str | os.PathLike[str]


def load_background_bank(
    background_paths: Sequence[str | os.PathLike[str]],
    duplication_rate: Sequence[float] | float = 1.0,
    extra_clips: Sequence[AudioSource] | None = None,
    seed: int = 0,
    max_seconds: float = 3600.0,
    *,
    segment_s: float = 4.0,
    generated_seconds: float = 600.0,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    household_share: float = 0.0,
) -> torch.Tensor:
    """Build the background bank from folders, or generate one offline.

    Args:
        background_paths: folders (searched recursively) or files. Empty: generate backgrounds.
        duplication_rate: repeats of each folder's segments (one value per folder, or one for
            all); 2 doubles a folder's weight, 0.5 keeps a random half.
        extra_clips: speech clips (arrays at ``sample_rate_hz`` or audio paths) used to make
            babble when backgrounds are generated.
        seed: seed for file order, subsampling and generation.
        max_seconds: cap on the bank's total audio, in seconds.
        segment_s: length of each segment, in seconds (at least the training window).
        generated_seconds: audio generated when no folder is given, in seconds.
        sample_rate_hz: sample rate of the bank.
        household_share: share of generated segments that are household sounds.

    Returns:
        ``[n, round(segment_s * sample_rate_hz)]`` float32 tensor, ``n >= 1``.

    Raises:
        ConfigError: a path does not exist, the rates do not match the folders, or the folders
            hold no usable audio.
    """
    seg_len = round(segment_s * sample_rate_hz)
    if seg_len < sample_rate_hz // 4:
        raise ConfigError(
            f"augmentation.background_segment_s={segment_s} is too short; use e.g. 4.0"
        )
    max_rows = max(1, int(max_seconds // segment_s))
    rng = np.random.default_rng([seed, 0xB6])
    paths = [Path(p).expanduser() for p in background_paths]
    if not paths:
        n_gen = max(1, min(max_rows, round(generated_seconds / segment_s)))
        speech = _load_speech(extra_clips, rng, sample_rate_hz)
        bank = generate_segments(n_gen, seg_len, rng, speech, sample_rate_hz, household_share=household_share)
        log.info(
            "backgrounds: generated %d segments of %.1f s (noise, tones%s%s)",
            n_gen,
            segment_s,
            ", babble" if speech else "",
            f", {household_share:.0%} household" if household_share > 0 else "",
        )
        return torch.from_numpy(bank)

    rates = _rates(duplication_rate, len(paths))
    per_folder: list[np.ndarray] = []
    bad: list[str] = []
    n_files = 0
    for path in paths:
        files = _files(path)
        n_files += len(files)
        segs = _segments_from_files(files, seg_len, max_rows, rng, bad, sample_rate_hz)
        if not segs:
            log.warning("backgrounds: %s holds no usable audio", path)
        per_folder.append(np.stack(segs) if segs else np.zeros((0, seg_len), np.float32))
    if bad:
        log.warning(
            "backgrounds: skipped %d of %d files (unreadable or silent; first: %s)",
            len(bad),
            n_files,
            bad[0],
        )
    index: list[tuple[int, int]] = []
    for f, (folder_segs, rate) in enumerate(zip(per_folder, rates)):
        whole, frac = divmod(float(rate), 1.0)
        n_segs = len(folder_segs)
        rows = list(range(n_segs)) * int(whole)
        if frac > 0 and n_segs:
            rows += list(rng.choice(n_segs, size=round(frac * n_segs), replace=False))
        index.extend((f, r) for r in rows)
    if not index:
        raise ConfigError(
            f"augmentation.background_paths {[str(p) for p in paths]} hold no usable audio "
            f"({n_files} files, {len(bad)} unreadable/silent); add WAV/FLAC/OGG files or set "
            "augmentation.background_paths=[] to generate backgrounds"
        )
    if len(index) > max_rows:
        keep = np.sort(rng.choice(len(index), size=max_rows, replace=False))
        index = [index[i] for i in keep]
    bank = np.empty((len(index), seg_len), dtype=np.float32)
    for i, (f, r) in enumerate(index):
        bank[i] = per_folder[f][r]
    log.info(
        "backgrounds: %d segments of %.1f s from %d folder(s) (%d files)",
        len(bank),
        segment_s,
        len(paths),
        n_files - len(bad),
    )
    return torch.from_numpy(bank)


def _rates(duplication_rate: Sequence[float] | float, n: int) -> list[float]:
    if isinstance(duplication_rate, (int, float)):
        rates = [float(duplication_rate)] * n
    else:
        rates = [float(r) for r in duplication_rate]
        if len(rates) == 1:
            rates = rates * n
    if len(rates) != n or any(r < 0 for r in rates):
        raise ConfigError(
            f"augmentation.background_paths_duplication_rate={list(rates)} must hold one "
            f"non-negative number per background folder ({n} folders)"
        )
    return rates


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return list_audio_files(path)
    if path.is_file():
        return [path]
    raise ConfigError(
        f"augmentation.background_paths: {path} does not exist; fix the path or set "
        "augmentation.background_paths=[] to generate backgrounds"
    )


def _segments_from_files(
    files: list[Path],
    seg_len: int,
    max_rows: int,
    rng: np.random.Generator,
    bad: list[str],
    sample_rate_hz: int,
) -> list[np.ndarray]:
    """Cut files (in seeded random order) into segments until ``max_rows`` are collected."""
    segs: list[np.ndarray] = []
    order = rng.permutation(len(files))
    try:
        from tqdm import tqdm

        iterator = tqdm(order, desc="loading backgrounds", unit="file", leave=False, disable=None)
    except ImportError:  # pragma: no cover
        iterator = order
    for i in iterator:
        f = files[int(i)]
        try:
            audio = load_audio(f, sample_rate_hz)
        except AudioError as exc:
            bad.append(str(exc))
            continue
        new = [s for s in cut_segments(audio, seg_len) if _usable(s)]
        if not new:
            bad.append(f"{f}: no non-silent {seg_len / sample_rate_hz:.1f} s segment")
        segs.extend(new)
        if len(segs) >= max_rows:
            break
    return segs


def cut_segments(audio: np.ndarray, seg_len: int) -> list[np.ndarray]:
    """Cut ``[T]`` audio into ``[seg_len]`` segments; loop short audio, keep a long tail.

    Example:
        >>> [s.shape for s in cut_segments(np.ones(25), 10)]
        [(10,), (10,), (10,)]
        >>> cut_segments(np.ones(4), 10)[0].shape
        (10,)
    """
    n = audio.size
    if n < seg_len:
        return [loop_to_length(audio, seg_len)]
    count, tail = divmod(n, seg_len)
    out = [audio[i * seg_len : (i + 1) * seg_len] for i in range(count)]
    if tail >= seg_len // 2:
        out.append(audio[n - seg_len :])  # overlaps the previous segment rather than padding
    return [np.ascontiguousarray(s, dtype=np.float32) for s in out]


def loop_to_length(audio: np.ndarray, length: int, crossfade: int | None = None) -> np.ndarray:
    """Repeat ``audio`` with short crossfades until it is ``length`` samples long.

    Example:
        >>> loop_to_length(np.arange(1.0, 5.0), 10, crossfade=0).tolist()
        [1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0]
    """
    audio = np.asarray(audio, dtype=np.float32)
    if crossfade is None:
        crossfade = int(LOOP_CROSSFADE_S * SAMPLE_RATE_HZ)
    crossfade = min(crossfade, audio.size // 4)
    if crossfade <= 0:
        reps = -(-length // audio.size)
        return np.tile(audio, reps)[:length].copy()
    fade_in = np.linspace(0.0, 1.0, crossfade, dtype=np.float32)
    out = audio.copy()
    while out.size < length:
        head = audio.copy()
        head[:crossfade] = audio[:crossfade] * fade_in + out[-crossfade:] * (1.0 - fade_in)
        out = np.concatenate([out[:-crossfade], head])
    return out[:length]


def _usable(segment: np.ndarray) -> bool:
    """Reject digital silence: silent segments would be scaled up into noise at any SNR."""
    if float(np.max(np.abs(segment))) < SILENCE_PEAK:
        return False
    return float(np.mean(segment == 0.0)) < 0.5


def _load_speech(
    extra_clips: Sequence[AudioSource] | None, rng: np.random.Generator, sample_rate_hz: int
) -> list[np.ndarray]:
    if not extra_clips:
        return []
    items = list(extra_clips)
    if len(items) > MAX_BABBLE_SOURCES:
        items = [items[int(i)] for i in rng.choice(len(items), MAX_BABBLE_SOURCES, replace=False)]
    out: list[np.ndarray] = []
    for item in items:
        if isinstance(item, np.ndarray):
            clip = np.asarray(item)
            if clip.dtype.kind in "iu":  # int16 PCM as written by stage 1
                clip = clip.astype(np.float32) / float(np.iinfo(clip.dtype).max)
            clip = clip.astype(np.float32, copy=False).ravel()
        else:
            try:
                clip = load_audio(item, sample_rate_hz)
            except AudioError:
                continue  # stage 1 already reported its bad clips
        if clip.size >= sample_rate_hz // 10 and float(np.max(np.abs(clip))) >= SILENCE_PEAK:
            out.append(clip)
    return out
