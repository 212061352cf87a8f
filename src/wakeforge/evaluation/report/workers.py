"""Scoring files side by side: how many processes, and what each one runs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wakeforge.core.errors import AudioError


#: A scoring process is started per this many files at most: starting one (imports + ONNX
#: sessions, ~2 s) costs about as much as scoring 50 short clips.
MIN_FILES_PER_WORKER = 50


def _n_workers(workers: int, n_files: int) -> int:
    """Processes worth starting: ``workers`` (0 = all cores), none for a handful of files."""
    n = int(workers) if workers and int(workers) > 0 else (os.cpu_count() or 1)
    return max(1, min(n, n_files // MIN_FILES_PER_WORKER))


def _score_one(path: Path, scorer: Any, background: Any, snr_db: float | None) -> Any:
    """FileScores of one file, or the AudioError that makes it unreadable."""
    try:
        return scorer.score_file(path, background=background, snr_db=snr_db)
    except AudioError as exc:
        return exc


_WORKER: dict[str, Any] = {}


def _init_worker(model_path: str, feature_paths: Any, pad_s: float, seed: int,
                 background: Any, snr_db: float | None) -> None:
    from wakeforge.evaluation.streaming import StreamingScorer

    _WORKER.update(scorer=StreamingScorer(model_path, feature_paths, pad_s=pad_s, seed=seed),
                   background=background, snr_db=snr_db)


def _score_in_worker(path: Path) -> Any:
    return _score_one(path, _WORKER["scorer"], _WORKER["background"], _WORKER["snr_db"])
