"""Cached pieces of the feature pass: unit keys, the worker that computes a unit, ``.npz`` I/O."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.audio.constants import CHUNK_SAMPLES, SAMPLE_RATE_HZ
from wakeforge.core.errors import AudioError
from wakeforge.evaluation.benchmark.suite import Settings

log = logging.getLogger(__name__)


#: Bump when the cached arrays change meaning.
CACHE_VERSION = 1


@dataclass
class Unit:
    """One cached piece of the feature pass."""

    kind: str  # "positive" (each file its own stream) or "negative" (files back to back)
    group: str
    files: list[Path]
    snr_db: float | None = None


def _signature(files: Sequence[Path]) -> list[tuple[str, int, int]]:
    out = []
    for f in files:
        st = f.stat()
        out.append((str(f.resolve()), int(st.st_size), int(st.st_mtime_ns)))
    return out


def unit_key(unit: Unit, settings: Settings, noise_sig: Any, feature_sig: Any) -> str:
    """Cache key of a unit: files (path, size, mtime), padding, noise, feature models, seed."""
    payload = json.dumps({
        "v": CACHE_VERSION, "kind": unit.kind, "files": _signature(unit.files),
        "pad_s": settings.pad_s, "gap_s": settings.gap_s, "seed": settings.seed,
        "snr_db": unit.snr_db, "noise": noise_sig if unit.snr_db is not None else None,
        "features": feature_sig,
    }, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def n_predict_chunks(n_samples: int) -> int:
    """Chunks ``Model.predict_clip`` feeds for ``n_samples`` of (padded) audio.

    Its loop is ``range(0, n - 1280, 1280)``: a final full chunk is never fed.

    Example:
        >>> n_predict_chunks(2560), n_predict_chunks(2600), n_predict_chunks(1000)
        (1, 2, 0)
    """
    return max(0, (int(n_samples) - 1) // CHUNK_SAMPLES)


def padded_clip(audio: np.ndarray, pad_s: float, *, noise: np.ndarray | None = None,
                snr_db: float | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """Clip -> int16 with ``pad_s`` of silence each side (optionally noise mixed in at an SNR)."""
    from wakeforge.evaluation.streaming import mix_at_snr, to_int16

    audio = np.asarray(audio, dtype=np.float32)
    pad = np.zeros(int(round(pad_s * SAMPLE_RATE_HZ)), np.float32)
    x = np.concatenate([pad, audio, pad])
    if snr_db is not None:
        x = mix_at_snr(x, noise, float(snr_db), rng or np.random.default_rng(0), reference=audio)
    return to_int16(x)


_W: dict[str, Any] = {}


def _init_worker(feature_paths: Any, seed: int, noise: np.ndarray | None) -> None:
    from wakeforge.evaluation.streaming import StreamingFeatures

    _W.update(features=StreamingFeatures(feature_paths, seed=seed), noise=noise)


def compute_unit(unit: Unit, settings: Settings) -> dict[str, np.ndarray]:
    """Streaming embeddings of one unit (in a worker, or in-process after :func:`_init_worker`).

    Returns:
        ``emb [n_chunks_total, 96]`` float32 (chunk embeddings only, without the start-up
        buffer), ``starts``/``lengths`` [n_streams] (rows of each stream in ``emb``),
        ``durations`` [n_files] seconds, ``ok`` [n_files] bool (False: unreadable, skipped).
    """
    from wakeforge.audio.io import load_audio
    from wakeforge.evaluation.streaming import file_rng, to_int16

    feats = _W["features"]
    n_init = len(feats.initial_embeddings)
    durations = np.zeros(len(unit.files), np.float64)
    ok = np.zeros(len(unit.files), bool)
    audios: list[np.ndarray] = []
    for i, f in enumerate(unit.files):
        try:
            a = load_audio(f, allow_silent=True)
        except AudioError as exc:
            log.warning("skipping %s", exc)
            continue
        if len(a) == 0:
            continue
        ok[i] = True
        durations[i] = len(a) / SAMPLE_RATE_HZ
        audios.append(a)
    streams: list[np.ndarray] = []
    if unit.kind == "positive":
        idx = [i for i in range(len(unit.files)) if ok[i]]
        for i, a in zip(idx, audios, strict=True):
            rng = file_rng(settings.seed, unit.files[i].name)
            x = padded_clip(a, settings.pad_s, noise=_W.get("noise"), snr_db=unit.snr_db, rng=rng)
            x = x[: n_predict_chunks(len(x)) * CHUNK_SAMPLES]
            streams.append(feats.stream(x)[n_init:])
    elif audios:
        pad = np.zeros(int(round(settings.pad_s * SAMPLE_RATE_HZ)), np.float32)
        gap = np.zeros(int(round(settings.gap_s * SAMPLE_RATE_HZ)), np.float32)
        parts: list[np.ndarray] = [pad]
        for j, a in enumerate(audios):
            if j:
                parts.append(gap)
            parts.append(a)
        parts.append(pad)
        x = to_int16(np.concatenate(parts))
        x = x[: n_predict_chunks(len(x)) * CHUNK_SAMPLES]
        streams.append(feats.stream(x)[n_init:])
    lengths = np.array([len(s) for s in streams], np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if len(lengths) else lengths
    emb = np.concatenate(streams).astype(np.float32) if streams else np.zeros((0, 96), np.float32)
    return {"emb": emb, "starts": starts, "lengths": lengths, "durations": durations, "ok": ok}


def _compute_in_worker(args: tuple[Unit, Settings, str]) -> str:
    unit, settings, path = args
    _save_npz(path, compute_unit(unit, settings))
    return path


def _save_npz(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> None:
    from wakeforge.utils.atomic import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
