"""The user's recordings: find, decode, check, trim and level them; hold a share out.

Every take goes through the same steps as stage 1's real recordings
(:func:`wakeforge.generation.tts.manifests.process_real`): decoded to 16 kHz mono whatever its format, rate
and channels, leading and trailing silence trimmed, peak levelled to about -1 dBFS. A take is
refused with its reason when it cannot be used; :func:`check_take` is also what
``python -m wakeforge.record`` runs on each new take.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wakeforge.audio.constants import SAMPLE_RATE_HZ
from wakeforge.core.errors import AudioError, WakeforgeError

log = logging.getLogger(__name__)

#: Level checks of one take (dBFS of the peak; share of samples at full scale).
MIN_PEAK_DBFS = -35.0
MAX_CLIPPED_SHARE = 0.001
#: Fewest recordings that make an adaptation worth it.
MIN_RECORDINGS = 3


@dataclass
class Take:
    """One usable recording: its file, the trimmed and levelled audio, a stable id."""

    path: Path
    audio: np.ndarray  # float32 16 kHz mono, trimmed, peak-levelled
    digest: str        # sha1 of the file's name, then of its path (stable split)

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE_HZ


def find_audio(paths: Sequence[str | os.PathLike[str]], what: str) -> list[Path]:
    """Audio files under the given files/folders, sorted; one clear line for a missing path."""
    from wakeforge.audio.io import list_audio_files

    files: list[Path] = []
    for p in paths:
        root = Path(os.path.expanduser(str(p)))
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files += list_audio_files(root)
        else:
            raise WakeforgeError(f"{what}: {root} does not exist; pass a folder of recordings or an audio file")
    return sorted(set(files))


def check_take(audio: np.ndarray, *, min_s: float, max_s: float) -> tuple[np.ndarray | None, str | None]:
    """Trim and check one decoded take.

    Returns:
        ``(trimmed_levelled_audio, None)`` for a usable take, else ``(None, reason)`` where the
        reason names what to do (speak louder, move back, say it once, ...).

    Example:
        >>> t = np.arange(16000) / 16000
        >>> tone = (0.5 * np.sin(2 * np.pi * 220 * t) * (np.abs(t - 0.5) < 0.3)).astype(np.float32)
        >>> y, why = check_take(tone, min_s=0.3, max_s=1.9)
        >>> why is None, round(float(np.abs(y).max()), 2)
        (True, 0.89)
    """
    from wakeforge.generation.tts.perturb import normalize_peak, trim_silence

    x = np.asarray(audio, dtype=np.float32)
    if x.size == 0:
        return None, "nothing was recorded; check the input device"
    clipped = float(np.mean(np.abs(x) >= 0.999))
    x = x - float(x.mean())  # a DC offset (common on cheap microphones) is not sound
    peak = float(np.max(np.abs(x)))
    if peak < 10 ** (MIN_PEAK_DBFS / 20):
        level = 20 * np.log10(max(peak, 1e-9))
        return None, f"too quiet (peak {level:.0f} dBFS); speak louder or move closer to the microphone"
    if clipped > MAX_CLIPPED_SHARE:
        return None, f"clipped ({clipped:.1%} of samples at full scale); speak softer or move back"
    # Trim at -40 dB below the loudest frame like stage 1; a take in a noisy room keeps too
    # much noise at that depth, so tighter depths are tried before the take is refused.
    for depth in (-40.0, -30.0, -20.0):
        y = trim_silence(x, SAMPLE_RATE_HZ, threshold_db=depth)
        dur = len(y) / SAMPLE_RATE_HZ
        if dur <= max_s:
            break
    if dur < min_s:
        return None, f"only {dur:.2f} s of sound after trimming silence (need {min_s:.2f} s); say the whole phrase"
    if dur > max_s:
        return None, (f"{dur:.2f} s of sound after trimming silence (at most {max_s:.2f} s); say the phrase "
                      "once, with quiet before and after")
    return normalize_peak(y), None


def load_takes(
    paths: Sequence[str | os.PathLike[str]],
    *,
    min_s: float,
    max_s: float,
    max_file_s: float,
    what: str = "data.positive_paths",
) -> tuple[list[Take], list[str]]:
    """Decode, check, trim and level every recording; returns ``(takes, skipped reasons)``.

    A file that cannot be used (undecodable, silent, longer than ``max_file_s``, too short or
    too long after trimming) is skipped with its reason; files at any sample rate from 8 to
    192 kHz and any channel count are converted.
    """
    import soundfile as sf

    from wakeforge.audio.io import load_audio

    takes: list[Take] = []
    skipped: list[str] = []
    for f in find_audio(paths, what):
        try:
            info = sf.info(str(f))
            if info.frames / max(info.samplerate, 1) > max_file_s:
                skipped.append(f"{f.name}: {info.frames / info.samplerate:.0f} s long (at most {max_file_s:g} s); "
                               "cut it to one utterance per file")
                continue
        except Exception:  # noqa: BLE001 - load_audio below gives the reason
            pass
        try:
            audio = load_audio(f)
        except AudioError as exc:
            skipped.append(str(exc))
            continue
        if len(audio) / SAMPLE_RATE_HZ > max_file_s:
            skipped.append(f"{f.name}: {len(audio) / SAMPLE_RATE_HZ:.0f} s long (at most {max_file_s:g} s); "
                           "cut it to one utterance per file")
            continue
        y, why = check_take(audio, min_s=min_s, max_s=max_s)
        if y is None:
            skipped.append(f"{f.name}: {why}")
            continue
        # Ranked by the file's name first (the split survives moving the folder), then its path.
        takes.append(Take(f, y, hashlib.sha1(f.name.encode()).hexdigest()
                          + hashlib.sha1(str(f.resolve()).encode()).hexdigest()[:8]))
    return takes, skipped


def split_holdout(takes: Sequence[Take], fraction: float) -> tuple[list[Take], list[Take]]:
    """``(train, held_out)``: the held-out share picked by file hash (stable across runs).

    At least one take is held out when there are 5 or more; with fewer, all train.
    """
    ranked = sorted(takes, key=lambda t: t.digest)
    n_hold = max(1, round(fraction * len(ranked))) if len(ranked) >= 5 and fraction > 0 else 0
    held = ranked[:n_hold]
    ids = {t.digest for t in held}
    return [t for t in takes if t.digest not in ids], [t for t in takes if t.digest in ids]


def negative_pieces(paths: Sequence[str | os.PathLike[str]], piece_s: float = 2.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The user's negative recordings cut into ``piece_s`` pieces: ``(train, held_out)``.

    Every fifth piece of each file is held out for the guard (false accepts per hour); files
    that cannot be decoded stop with their reason, since the user named them.
    """
    from wakeforge.audio.io import load_audio

    n = int(round(piece_s * SAMPLE_RATE_HZ))
    train: list[np.ndarray] = []
    held: list[np.ndarray] = []
    for f in find_audio(paths, "finetune.negative_paths"):
        audio = load_audio(f, allow_silent=True)
        pieces = [audio[s : s + n] for s in range(0, max(1, len(audio) - n // 2), n)]
        for i, piece in enumerate(pieces):
            (held if i % 5 == 4 else train).append(piece.astype(np.float32))
    return train, held
