"""The feature pass: a suite split into units, computed in worker processes or read from the cache."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.evaluation.benchmark.suite import DEFAULT_GAP_S, Settings, Suite
from wakeforge.evaluation.benchmark.units import (Unit, _compute_in_worker, _init_worker, _load_npz,
                                                  _save_npz, _signature, compute_unit, unit_key)


#: Clips per positive work unit; seconds of audio per negative work unit.
POSITIVE_UNIT_FILES = 40
NEGATIVE_UNIT_S = 300.0


@dataclass
class StreamSet:
    """Embedding streams of one group of files (all of one unit kind)."""

    group: str
    kind: str
    files: list[Path]
    streams: list[np.ndarray]   # one per positive clip, one per negative unit
    durations: np.ndarray       # per file (0 for skipped files)
    ok: np.ndarray              # per file
    stream_files: list[int]     # positive streams: index into files
    gap_s: float = DEFAULT_GAP_S

    @property
    def hours(self) -> float:
        """Streamed hours: file durations plus one gap per file."""
        n = int(self.ok.sum())
        return float(self.durations.sum() + self.gap_s * n) / 3600.0

    @property
    def skipped(self) -> list[str]:
        return [str(f) for f, k in zip(self.files, self.ok, strict=True) if not k]


def _units(suite: Suite, snr_db: float | None) -> list[Unit]:
    units: list[Unit] = []
    for phrase, files in suite.positives.items():
        for s in range(0, len(files), POSITIVE_UNIT_FILES):
            chunk = files[s : s + POSITIVE_UNIT_FILES]
            units.append(Unit("positive", phrase, chunk))
            if snr_db is not None:
                units.append(Unit("positive", phrase, chunk, snr_db=snr_db))
    neg_groups = [(name, files) for name, files in suite.negatives.items()]
    neg_groups += [(f"noise:{name}", files) for name, files in suite.noise.items()]
    for name, files in neg_groups:
        cur: list[Path] = []
        size = 0
        # ~NEGATIVE_UNIT_S of audio per unit, judged by file size (decoding to measure costs as
        # much as the pass); a unit never splits a file.
        limit = _bytes_per_unit(files)
        for f in files:
            cur.append(f)
            size += f.stat().st_size
            if size >= limit:
                units.append(Unit("negative", name, cur))
                cur, size = [], 0
        if cur:
            units.append(Unit("negative", name, cur))
    return units


def _bytes_per_unit(files: Sequence[Path]) -> float:
    """File bytes that hold about NEGATIVE_UNIT_S of audio (from the first files' headers)."""
    import soundfile as sf

    rates = []
    for f in files[:5]:
        try:
            info = sf.info(str(f))
            if info.duration > 0:
                rates.append(f.stat().st_size / info.duration)
        except Exception:  # noqa: BLE001 - unreadable files are reported by the pass itself
            continue
    per_s = float(np.median(rates)) if rates else 32000.0
    return per_s * NEGATIVE_UNIT_S


def compute_features(
    suite: Suite,
    *,
    cache_dir: str | os.PathLike[str],
    settings: Settings | None = None,
    snr_db: float | None = None,
    noise: np.ndarray | None = None,
    noise_sig: Any = None,
    feature_paths: Any = None,
    workers: int = 0,
    progress: bool = True,
) -> tuple[dict[tuple[str, str, float | None], StreamSet], np.ndarray, dict[str, Any]]:
    """Streaming embeddings of every suite file, from the cache where present.

    Returns:
        ``(sets, initial_embeddings, info)``: ``sets[(kind, group, snr_db)]`` ->
        :class:`StreamSet`; the detector's start-up buffer; timing/caching info.
    """
    from wakeforge.evaluation.streaming import StreamingFeatures
    from wakeforge.features.assets import feature_model_paths

    settings = settings or Settings()
    fpaths = feature_paths if feature_paths is not None else feature_model_paths()
    fsig = [_signature([Path(fpaths.melspec_onnx)])[0][1:], _signature([Path(fpaths.embedding_onnx)])[0][1:]]
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    units = _units(suite, snr_db)
    paths = [cache / f"{unit_key(u, settings, noise_sig, fsig)}.npz" for u in units]
    todo = [(u, p) for u, p in zip(units, paths, strict=True) if not p.is_file()]
    t0 = time.perf_counter()
    if todo:
        n_workers = int(workers) if workers and workers > 0 else (os.cpu_count() or 1)
        n_workers = max(1, min(n_workers, len(todo)))
        bar = _progress(len(todo), "streaming features", progress)
        if n_workers == 1:
            _init_worker(fpaths, settings.seed, noise)
            for u, p in todo:
                _save_npz(p, compute_unit(u, settings))
                bar.update(1)
        else:
            import multiprocessing as mp

            with ProcessPoolExecutor(n_workers, mp_context=mp.get_context("spawn"),
                                     initializer=_init_worker,
                                     initargs=(fpaths, settings.seed, noise)) as pool:
                for _ in pool.map(_compute_in_worker, [(u, settings, str(p)) for u, p in todo]):
                    bar.update(1)
        bar.close()
    seconds = time.perf_counter() - t0
    initial = StreamingFeatures(fpaths, seed=settings.seed).initial_embeddings
    sets: dict[tuple[str, str, float | None], StreamSet] = {}
    for u, p in zip(units, paths, strict=True):
        arr = _load_npz(p)
        key = (u.kind, u.group, u.snr_db)
        ss = sets.get(key)
        if ss is None:
            ss = sets[key] = StreamSet(u.group, u.kind, [], [], np.zeros(0), np.zeros(0, bool), [],
                                           gap_s=settings.gap_s)
        base = len(ss.files)
        emb = arr["emb"]
        for s, n in zip(arr["starts"].tolist(), arr["lengths"].tolist(), strict=True):
            ss.streams.append(emb[s : s + n])
        if u.kind == "positive":
            ss.stream_files.extend(base + int(i) for i in np.flatnonzero(arr["ok"]))
        ss.files.extend(u.files)
        ss.durations = np.concatenate([ss.durations, arr["durations"]])
        ss.ok = np.concatenate([ss.ok, arr["ok"]])
    info = {"units": len(units), "units_computed": len(todo), "feature_seconds": round(seconds, 1),
            "cache_dir": str(cache)}
    return sets, initial, info


class _NullBar:
    def update(self, n: int = 1) -> None: ...
    def close(self) -> None: ...


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return _NullBar()
    from tqdm import tqdm

    tty = sys.stderr.isatty()
    # Off a terminal (CI logs, files) a line every 30 s instead of one per update.
    return tqdm(total=total, desc=desc, unit="unit", mininterval=0.5 if tty else 30.0,
                leave=False, file=sys.stderr)
