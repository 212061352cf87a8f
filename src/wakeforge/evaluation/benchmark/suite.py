"""What a suite is and how it is counted: the folder's files by group, the counting settings."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from wakeforge.core.errors import WakeforgeError


DEFAULT_PAD_S = 1.0
DEFAULT_GAP_S = 0.5
DEFAULT_REFRACTORY_S = 1.2
#: FA/hour targets whose best recall the tables report.
FA_TARGETS = (1.0, 0.5)


@dataclass
class Suite:
    """The files of a benchmark suite, by group."""

    root: Path
    positives: dict[str, list[Path]] = field(default_factory=dict)
    negatives: dict[str, list[Path]] = field(default_factory=dict)
    noise: dict[str, list[Path]] = field(default_factory=dict)


def slug(text: str) -> str:
    """``"Smart Mirror"`` -> ``"smart_mirror"`` (how phrases and folder names are matched).

    Example:
        >>> slug("Hey  Jarvis!"), slug("view-glass")
        ('hey_jarvis', 'view_glass')
    """
    return re.sub(r"[^0-9a-z]+", "_", str(text).lower()).strip("_")


def load_suite(root: str | os.PathLike[str]) -> Suite:
    """Find the audio files of a suite folder.

    Raises:
        WakeforgeError: Missing folder, or neither ``positives/`` nor ``negatives/`` holds audio.
    """
    from wakeforge.audio.io import list_audio_files

    root = Path(root).expanduser()
    if not root.is_dir():
        raise WakeforgeError(f"suite folder {root} not found; pass a folder with positives/<phrase>/ "
                             "and negatives/<set>/ (like ../shared/realworld-dev)")
    suite = Suite(root=root)
    for part, target in (("positives", suite.positives), ("negatives", suite.negatives),
                         ("noise", suite.noise)):
        base = root / part
        if not base.is_dir():
            continue
        for sub in sorted(p for p in base.iterdir() if p.is_dir()):
            files = list_audio_files(sub)
            if files:
                target[slug(sub.name) if part == "positives" else sub.name] = files
    if not suite.positives and not suite.negatives:
        raise WakeforgeError(f"{root}: no audio under positives/<phrase>/ or negatives/<set>/; "
                             "lay the suite out like ../shared/realworld-dev")
    return suite


@dataclass
class Settings:
    pad_s: float = DEFAULT_PAD_S
    gap_s: float = DEFAULT_GAP_S
    seed: int = 0
