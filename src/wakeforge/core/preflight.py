"""What every stage's preflight shares: the :class:`Problem` record and audio-folder checks.

Each stage owns its preflight next to its code (``wakeforge.generation.preflight``,
``wakeforge.augment.preflight``, ``wakeforge.training.preflight``,
``wakeforge.evaluation.preflight``): checks that need the disk or the machine. Types, enums,
key names and ranges are the schema's (:mod:`wakeforge.core.schema`).
:func:`wakeforge.pipeline.preflight.check_config` runs them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wakeforge.core.config import resolve_path


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au", ".opus")

@dataclass(frozen=True)
class Problem:
    """One finding: the config key (or topic), a one-line message that names the fix, a level."""

    key: str
    message: str
    level: str = "error"  # "error" | "warning"

    @property
    def is_error(self) -> bool:
        return self.level == "error"

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"

def _audio_files(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
        return
    for p in path.rglob("*"):
        if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file():
            yield p

def _check_audio_paths(key: str, values: Any, empty_fix: str) -> list[Problem]:
    out = []
    for v in list(values or []):
        p = resolve_path(str(v))
        if not p.exists():
            out.append(Problem(key, f"{key}: {p} does not exist; fix the path (relative paths resolve against {Path.cwd()}) or {empty_fix}"))
            continue
        files = _audio_files(p)
        first = next(iter(files), None)
        if first is None:
            out.append(Problem(key, f"{key}: {p} holds no audio files ({', '.join(AUDIO_SUFFIXES[:4])}, ...); add recordings or {empty_fix}"))
        elif first.stat().st_size == 0 and p.is_file():
            out.append(Problem(key, f"{key}: {p} is an empty file (0 bytes); replace it or {empty_fix}"))
    return out
