"""Atomic file writes and append-only manifests (resume without redoing or corrupting work).

A stage writes each output to a temporary file in the destination folder and renames it into
place (``os.replace`` is atomic on POSIX), then appends one JSON line to a manifest. A killed
run leaves at most a stray ``.tmp-*`` file (removed on the next run) and possibly a truncated
last manifest line (ignored when read); everything listed in the manifest exists and is whole.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

TMP_PREFIX = ".tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temp path beside ``path``; rename it to ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes the file 0600; give it the mode a plain open() would (0666 - umask).
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def save_npy_atomic(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array)
    return Path(path)


def clean_stale_tmp(folder: str | os.PathLike[str]) -> int:
    """Remove temp files left by a killed run; returns how many were removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n = 0
    for p in folder.glob(f"{TMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            p.unlink()
            n += 1
    return n


class Manifest:
    """Append-only JSON-lines record of finished items, keyed by ``key``.

    Example:
        >>> import tempfile
        >>> m = Manifest(Path(tempfile.mkdtemp()) / "manifest.jsonl")
        >>> m.append({"key": "a", "n": 1}); m.append({"key": "b", "n": 2})
        >>> sorted(Manifest(m.path).done())
        ['a', 'b']
    """

    def __init__(self, path: str | os.PathLike[str], key: str = "key") -> None:
        self.path = Path(path)
        self.key = key

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out: list[dict[str, Any]] = []
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut by a kill: the item is redone
        return out

    def done(self) -> dict[str, dict[str, Any]]:
        return {str(r[self.key]): r for r in self.records() if self.key in r}

    def append(self, record: dict[str, Any]) -> None:
        self._append_text(json.dumps(record, default=str) + "\n")

    def extend(self, records: list[dict[str, Any]]) -> None:
        if records:
            self._append_text("".join(json.dumps(r, default=str) + "\n" for r in records))

    def _append_text(self, text: str) -> None:
        # One write() on a file opened for appending, then fsync, so a kill after an output's
        # rename never leaves it without its manifest line for long. A line cut by an earlier
        # kill is closed first, so it cannot swallow the new record.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as fh:
            if fh.tell() > 0:
                fh.seek(fh.tell() - 1)
                if fh.read(1) != "\n":
                    text = "\n" + text
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
