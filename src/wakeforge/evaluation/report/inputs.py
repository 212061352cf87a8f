"""The audio an evaluation reads: files and folders expanded to audio files, the noise bank."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from wakeforge.core.errors import AudioError, WakeforgeError

log = logging.getLogger(__name__)


PathsArg = str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None


def expand_audio_paths(paths: PathsArg, what: str = "audio") -> list[Path]:
    """Files and folders (searched recursively for audio) -> sorted unique audio files.

    Args:
        paths: One path or several; folders are searched with
            :func:`wakeforge.audio.io.list_audio_files`.
        what: Used in the error message ("positive", "negative").

    Raises:
        WakeforgeError: A path does not exist.
    """
    from wakeforge.audio.io import list_audio_files

    if paths is None:
        return []
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    seen: set[Path] = set()
    for item in paths:
        p = Path(item).expanduser()
        if p.is_dir():
            files = list_audio_files(p)
        elif p.is_file():
            files = [p]
        else:
            raise WakeforgeError(f"{what} path {p} does not exist; pass existing files or folders")
        for f in files:
            if f not in seen:
                seen.add(f)
                out.append(f)
    return out


def load_noise_bank(paths: PathsArg) -> np.ndarray | None:
    """Concatenate background recordings for SNR mixing (``None`` if no paths).

    Raises:
        WakeforgeError: Paths given but none readable.
    """
    from wakeforge.audio.io import load_audio

    files = expand_audio_paths(paths, "noise")
    if not files:
        if paths:
            raise WakeforgeError("no audio files found in the noise paths; pass WAV/FLAC files")
        return None
    parts = []
    for f in files:
        try:
            parts.append(load_audio(f))
        except AudioError as exc:
            log.warning("skipping noise file: %s", exc)
    if not parts:
        raise WakeforgeError("none of the noise files could be read; pass WAV/FLAC files")
    return np.concatenate(parts)
