"""Memory-mapped ``.npy`` feature files: resumable writes, atomic finish, validated reads.

A feature file holds ``[N, 16, 96]`` openWakeWord embeddings (float32; int16 ACAV100M-style
files from openWakeWord's releases are read as they are, unscaled, as openWakeWord does).

Writing (:class:`FeatureWriter`)::

    features.npy.partial.npy     the memmap being filled (np.lib.format.open_memmap)
    features.npy.partial.json    {"n_rows", "shape", "dtype", "fingerprint", "done": [[start, stop], ...]}

Rows are flushed to disk before their range is recorded in the sidecar (written atomically), so
after a kill every range the sidecar lists is on disk; rerunning with the same arguments resumes
with :meth:`FeatureWriter.missing_ranges` (the sidecar's ``fingerprint``, the settings the rows
were made with, must match). :meth:`FeatureWriter.finalize` renames the partial
file to its final name (atomic) and removes the sidecar: a file under the final name is always
complete.

Example:
    >>> import tempfile, numpy as np
    >>> p = Path(tempfile.mkdtemp()) / "pos.npy"
    >>> with FeatureWriter(p, n_rows=4) as w:
    ...     for start, stop in w.missing_ranges():
    ...         w.write(start, np.zeros((stop - start, 16, 96), np.float32))
    ...     _ = w.finalize()
    >>> open_features(p).shape
    (4, 16, 96)
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.core.errors import WakeforgeError, note_kept
from wakeforge.utils.atomic import write_json_atomic

log = logging.getLogger(__name__)

FEATURE_SHAPE = (16, 96)
ALLOWED_DTYPES = (np.dtype(np.float32), np.dtype(np.int16))
PARTIAL_SUFFIX = ".partial.npy"
SIDECAR_SUFFIX = ".partial.json"


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping/adjacent half-open ranges; returns them sorted."""
    out: list[list[int]] = []
    for a, b in sorted((int(a), int(b)) for a, b in ranges if b > a):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


class FeatureWriter:
    """Fill a ``[n_rows, *shape]`` ``.npy`` file in blocks, resumably, then publish it atomically.

    Args:
        path: Final file path (``.npy``).
        n_rows: Number of rows (clips) the finished file holds.
        shape: Shape of one row; ``(16, 96)`` for openWakeWord features.
        dtype: Row dtype (float32 by default).
        resume: Continue a partial file left by an interrupted run if its ``n_rows``, ``shape``
            and ``dtype`` match; otherwise (or with ``resume=False``) start over.
        fingerprint: Settings the rows are made with (any string), kept in the sidecar. A
            partial file whose sidecar has the same fingerprint is continued even with
            ``resume=False`` (its finished blocks are kept); one with another fingerprint is
            started over. ``resume=False`` still rewrites a finished file.

    Attributes:
        finished: True when ``path`` already exists with the requested layout: nothing is left
            to write (``missing_ranges()`` is empty, ``finalize()`` just returns ``path``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        n_rows: int,
        shape: tuple[int, ...] = FEATURE_SHAPE,
        dtype: Any = np.float32,
        resume: bool = True,
        fingerprint: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.n_rows = int(n_rows)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        if self.n_rows < 0:
            raise WakeforgeError(f"{self.path}: n_rows must be >= 0, got {n_rows}")
        self.partial_path = self.path.with_name(self.path.name + PARTIAL_SUFFIX)
        self.sidecar_path = self.path.with_name(self.path.name + SIDECAR_SUFFIX)
        self._mm: np.memmap | None = None
        self._done: list[tuple[int, int]] = []
        self.finished = False

        if resume and self.path.exists() and not self.partial_path.exists():
            if self._final_matches():
                self.finished = True
                self._done = [(0, self.n_rows)] if self.n_rows else []
                return
            log.warning("%s exists with another layout; rewriting it", self.path)

        self.path.parent.mkdir(parents=True, exist_ok=True)
        meta = self._read_sidecar() if (resume or fingerprint is not None) else None
        if meta is not None and fingerprint is not None and meta.get("fingerprint") != fingerprint:
            if meta.get("fingerprint") is not None or not resume:
                log.info("%s: partial file was made with other settings; starting over", self.path.name)
                meta = None
        if meta is not None and self.partial_path.exists():
            try:
                mm = np.lib.format.open_memmap(self.partial_path, mode="r+")
                if mm.shape == (self.n_rows, *self.shape) and mm.dtype == self.dtype:
                    self._mm = mm
                    self._done = _merge([tuple(r) for r in meta.get("done", [])])
                    log.info("%s: resuming, %d/%d rows done", self.path.name, self.n_done,
                             self.n_rows)
                else:
                    del mm
            except (ValueError, OSError, EOFError) as exc:
                log.warning("%s: partial file unreadable (%s); starting over", self.path, exc)
        if self._mm is None:
            self._mm = np.lib.format.open_memmap(
                self.partial_path, mode="w+", dtype=self.dtype, shape=(self.n_rows, *self.shape)
            )
            self._done = []
            self._write_sidecar()

    # -- state ---------------------------------------------------------------------------------

    def _final_matches(self) -> bool:
        try:
            arr = np.load(self.path, mmap_mode="r")
        except (ValueError, OSError, EOFError):
            return False
        return arr.shape == (self.n_rows, *self.shape) and arr.dtype == self.dtype

    def _meta(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "shape": list(self.shape),
            "dtype": self.dtype.str,
            "fingerprint": self.fingerprint,
            "done": [list(r) for r in self._done],
        }

    def _read_sidecar(self) -> dict[str, Any] | None:
        try:
            meta = json.loads(self.sidecar_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            meta.get("n_rows") == self.n_rows
            and tuple(meta.get("shape", ())) == self.shape
            and meta.get("dtype") == self.dtype.str
        ):
            return meta
        log.warning("%s: partial file was made with other settings; starting over", self.path)
        return None

    def _write_sidecar(self) -> None:
        write_json_atomic(self.sidecar_path, self._meta())

    @property
    def done_ranges(self) -> list[tuple[int, int]]:
        """Finished rows as sorted, merged half-open ``(start, stop)`` ranges."""
        return list(self._done)

    @property
    def n_done(self) -> int:
        """Number of finished rows."""
        return sum(b - a for a, b in self._done)

    def missing_ranges(self, block: int | None = None) -> list[tuple[int, int]]:
        """Rows still to write, as half-open ranges, optionally split into ``block``-row pieces."""
        gaps: list[tuple[int, int]] = []
        pos = 0
        for a, b in self._done:
            if a > pos:
                gaps.append((pos, a))
            pos = max(pos, b)
        if pos < self.n_rows:
            gaps.append((pos, self.n_rows))
        if block is None:
            return gaps
        step = max(1, int(block))
        return [(s, min(s + step, b)) for a, b in gaps for s in range(a, b, step)]

    def is_done(self, row: int) -> bool:
        """Whether ``row`` has been written."""
        return any(a <= row < b for a, b in self._done)

    # -- writing -------------------------------------------------------------------------------

    def write(self, start: int, block: np.ndarray) -> None:
        """Write rows ``[start, start + len(block))`` and record them as done.

        Args:
            start: First row index.
            block: ``[n, *shape]`` array; cast to the file's dtype (float -> int16 raises:
                quantise explicitly).
        """
        if self.finished or self._mm is None:
            raise WakeforgeError(f"{self.path} is already finalized; delete it to rewrite it")
        block = np.asarray(block)
        if block.shape[1:] != self.shape:
            raise WakeforgeError(
                f"{self.path}: block has row shape {block.shape[1:]}, expected {self.shape}"
            )
        stop = int(start) + block.shape[0]
        if start < 0 or stop > self.n_rows:
            raise WakeforgeError(
                f"{self.path}: rows [{start}, {stop}) are outside [0, {self.n_rows})"
            )
        if self.dtype.kind == "i" and block.dtype.kind == "f":
            raise WakeforgeError(
                f"{self.path}: writing float features into an {self.dtype} file; quantise first"
            )
        self._mm[start:stop] = block
        # Flush the rows before the sidecar claims them, so a kill can't record unwritten rows.
        self._mm.flush()
        self._done = _merge([*self._done, (int(start), stop)])
        self._write_sidecar()
        note_kept("augment", f"{self.n_done} of {self.n_rows} rows of {self.path.name}")

    def finalize(self) -> Path:
        """Publish the file under its final name (atomic rename) and drop the sidecar.

        Returns:
            The final path.

        Raises:
            WakeforgeError: Some rows were never written.
        """
        if self.finished:
            return self.path
        missing = self.missing_ranges()
        if missing:
            n = sum(b - a for a, b in missing)
            raise WakeforgeError(
                f"{self.path}: {n} of {self.n_rows} rows not written yet (first gap "
                f"{missing[0]}); rerun the stage to fill them"
            )
        assert self._mm is not None
        self._mm.flush()
        self.close()
        os.replace(self.partial_path, self.path)
        self.sidecar_path.unlink(missing_ok=True)
        self.finished = True
        return self.path

    def close(self) -> None:
        """Release the memmap without finalizing (the partial file stays for a resume)."""
        if self._mm is not None:
            self._mm.flush()
            mm = self._mm
            self._mm = None
            del mm

    def __enter__(self) -> FeatureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_features(
    path: str | os.PathLike[str], frame_shape: tuple[int, int] | None = FEATURE_SHAPE
) -> np.ndarray:
    """Open a feature file read-only as a memmap, checking its layout.

    Args:
        path: ``.npy`` file of shape ``[N, 16, 96]``, float32 or int16 (int16 is returned as
            is, unscaled, as openWakeWord uses ACAV100M features).
        frame_shape: Expected trailing dims; ``None`` accepts any ``[N, F, 96]``.

    Returns:
        Read-only ``np.memmap`` (``mmap_mode="r"``).

    Raises:
        WakeforgeError: Missing, unreadable, or wrong shape/dtype (one line naming the file).
    """
    path = Path(path)
    frames, dim = frame_shape if frame_shape else ("F", 96)
    expected = f"[N, {frames}, {dim}]"
    if not path.is_file():
        partial = path.with_name(path.name + PARTIAL_SUFFIX)
        hint = (" (a partial file exists: rerun the stage that writes it to finish it)"
                if partial.exists() else "")
        raise WakeforgeError(f"feature file {path} does not exist{hint}")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise WakeforgeError(
            f"feature file {path} is not a readable .npy ({why}); expected {expected} "
            "float32/int16; delete it and rerun the stage that writes it"
        ) from exc
    trailing_ok = (
        arr.ndim == 3
        and arr.shape[2] == (frame_shape[1] if frame_shape else 96)
        and (frame_shape is None or arr.shape[1] == frame_shape[0])
    )
    if not trailing_ok or arr.dtype not in ALLOWED_DTYPES:
        raise WakeforgeError(
            f"feature file {path} has shape {list(arr.shape)} dtype {arr.dtype}; expected "
            f"{expected} float32 or int16 openWakeWord features"
        )
    return arr
