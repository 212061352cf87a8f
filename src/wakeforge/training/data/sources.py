"""Reading rows of ``[N, 16, 96]`` feature files without loading them (files larger than RAM).

Why not ``np.memmap`` for training reads: every page a memory map touches stays resident and
counts towards the process RSS, so random batches from a 3 GB file slowly map the whole file.
``RowReader`` parses the ``.npy`` header once and reads the requested rows with ``os.pread``
(sorted, contiguous runs merged into one read), so memory stays at one batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wakeforge.core.errors import WakeforgeError

EXPECTED_TAIL = (16, 96)


@dataclass
class NpyInfo:
    shape: tuple[int, ...]
    dtype: np.dtype
    offset: int
    fortran: bool


def read_npy_header(path: str | os.PathLike[str]) -> NpyInfo:
    """Shape, dtype and data offset of a ``.npy`` file, reading only its header."""
    with open(path, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        except ValueError as exc:
            raise WakeforgeError(f"{path}: not a .npy feature file ({exc}); regenerate it") from None
        return NpyInfo(tuple(shape), np.dtype(dtype), fh.tell(), bool(fortran))


class RowReader:
    """Random access to rows of a ``[N, 16, 96]`` float32/int16 ``.npy`` file via ``pread``.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "f.npy"
        >>> np.save(p, np.arange(2 * 4 * 16 * 96, dtype=np.float32).reshape(8, 16, 96))
        >>> RowReader(p).read([5, 1, 2])[:, 0, 0].tolist()
        [7680.0, 1536.0, 3072.0]
    """

    def __init__(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        if not self.path.is_file():
            raise WakeforgeError(f"feature file {self.path} not found; check data.feature_data_files or run `python -m wakeforge.augment`")
        info = read_npy_header(self.path)
        if len(info.shape) != 3 or tuple(info.shape[1:]) != EXPECTED_TAIL or info.dtype not in (
            np.dtype("float32"),
            np.dtype("int16"),
        ) or info.fortran:
            raise WakeforgeError(
                f"feature file {self.path} has shape {list(info.shape)} dtype {info.dtype}; "
                "expected [N, 16, 96] float32 or int16 (C order), as written by wakeforge.augment"
            )
        self.info = info
        self.n_rows = int(info.shape[0])
        self.row_bytes = int(np.prod(EXPECTED_TAIL)) * info.dtype.itemsize
        self._fd: int | None = None

    def __len__(self) -> int:
        return self.n_rows

    def _handle(self) -> int:
        if self._fd is None:  # opened lazily: DataLoader workers each get their own descriptor
            self._fd = os.open(self.path, os.O_RDONLY)
        return self._fd

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_fd"] = None
        return state

    def read(self, indices: np.ndarray | list[int]) -> np.ndarray:
        """Rows at ``indices`` (any order) as float32 ``[len(indices), 16, 96]``."""
        idx = np.asarray(indices, dtype=np.int64)
        order = np.argsort(idx, kind="stable")
        sorted_idx = idx[order]
        out = np.empty((idx.size, *EXPECTED_TAIL), dtype=self.info.dtype)
        fd = self._handle()
        i = 0
        while i < sorted_idx.size:
            j = i
            while j + 1 < sorted_idx.size and sorted_idx[j + 1] <= sorted_idx[j] + 1:
                j += 1
            start, stop = int(sorted_idx[i]), int(sorted_idx[j]) + 1
            buf = os.pread(fd, (stop - start) * self.row_bytes, self.info.offset + start * self.row_bytes)
            block = np.frombuffer(buf, dtype=self.info.dtype).reshape(stop - start, *EXPECTED_TAIL)
            out[order[i : j + 1]] = block[sorted_idx[i : j + 1] - start]
            i = j + 1
        return out.astype(np.float32, copy=False)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class StreamWindowReader:
    """Windows of 16 consecutive frames over a continuous ``[N, 96]`` feature stream.

    openWakeWord's ``validation_set_features.npy`` is such a stream (one 96-value embedding per
    80 ms); window ``i`` is frames ``i .. i+15``, as openWakeWord's trainer slices it.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "s.npy"
        >>> np.save(p, np.arange(20 * 96, dtype=np.float32).reshape(20, 96))
        >>> r = StreamWindowReader(p)
        >>> len(r), r.read([0, 4]).shape, float(r.read([4])[0, 0, 0])
        (5, (2, 16, 96), 384.0)
    """

    def __init__(self, path: str | os.PathLike[str], name: str | None = None, n_frames: int = 16) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        if not self.path.is_file():
            raise WakeforgeError(f"feature stream {self.path} not found; check data.false_positive_validation_data_path")
        info = read_npy_header(self.path)
        if len(info.shape) != 2 or info.shape[1] != EXPECTED_TAIL[1] or info.dtype not in (np.dtype("float32"), np.dtype("int16")) or info.fortran:
            raise WakeforgeError(
                f"feature stream {self.path} has shape {list(info.shape)} dtype {info.dtype}; expected [N, 96] float32/int16"
            )
        self.info = info
        self.n_frames = n_frames
        self.n_rows = max(0, int(info.shape[0]) - n_frames + 1)
        self.row_bytes = EXPECTED_TAIL[1] * info.dtype.itemsize

    def __len__(self) -> int:
        return self.n_rows

    def read(self, indices: np.ndarray | list[int]) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size == 0:
            return np.empty((0, *EXPECTED_TAIL), np.float32)
        lo, hi = int(idx.min()), int(idx.max()) + self.n_frames
        with open(self.path, "rb") as fh:
            buf = os.pread(fh.fileno(), (hi - lo) * self.row_bytes, self.info.offset + lo * self.row_bytes)
        frames = np.frombuffer(buf, dtype=self.info.dtype).reshape(hi - lo, EXPECTED_TAIL[1]).astype(np.float32)
        windows = np.lib.stride_tricks.sliding_window_view(frames, self.n_frames, axis=0)  # [W, 96, 16]
        return np.ascontiguousarray(windows[idx - lo].transpose(0, 2, 1))


def open_feature_rows(path: str | os.PathLike[str], name: str | None = None) -> RowReader | StreamWindowReader:
    """A reader for ``[N, 16, 96]`` windows or a ``[N, 96]`` continuous stream, by the file's shape."""
    p = Path(path)
    if p.is_file() and len(read_npy_header(p).shape) == 2:
        return StreamWindowReader(p, name)
    return RowReader(p, name)
