"""Real-recording benchmark: score many wake word heads on a suite of real recordings.

A *suite* is a folder laid out like ``../shared/realworld-dev``::

    positives/<phrase>/   one utterance of the phrase per file (folder name = phrase slug)
    negatives/<set>/      recordings without any suite phrase (speech, digits, TV, ...)
    noise/<set>/          background noise: mixed into positives at an SNR, and streamed as a
                          negative set of its own

Counting follows the suite's README, as a user hears a detector:

* a positive clip is padded with ``pad_s`` (1 s) of digital silence on each side and streamed
  through a freshly reset detector in 80 ms chunks (``openwakeword.Model.predict_clip``'s
  path); it is detected when any chunk scores ``>= threshold``;
* negative files are streamed back to back with ``gap_s`` (0.5 s) of silence between them;
  every activation (a run above the threshold, ``refractory_s`` = 1.2 s dead time, see
  :mod:`wakeforge.core.metrics`) is a false accept; per hour = false accepts / streamed hours;
* for a model of phrase P, the positives of every *other* phrase folder are negatives too
  (each clip as streamed for recall; hours = their durations plus one gap each);
* with ``snr_db``, every positive clip (and its padding) also gets the suite's noise mixed in at
  that speech-to-noise ratio, and recall is reported at the same thresholds.

The streaming features of a recording do not depend on the head, so they are computed once
per (files, padding, noise) and cached as ``.npz`` files (no pickles) under the cache folder;
scoring N heads costs one feature pass, and a second run over the same suite costs none. The
work is split into units (about 40 clips, or a few minutes of negative audio) computed in
worker processes; each unit is cached as it finishes, so an interrupted pass resumes.

:func:`run_benchmark` returns a JSON-ready dict; :func:`format_tables` prints it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.audio.constants import CHUNK_SAMPLES, SAMPLE_RATE_HZ
from wakeforge.core.errors import AudioError, WakeforgeError

log = logging.getLogger(__name__)

DEFAULT_PAD_S = 1.0
DEFAULT_GAP_S = 0.5
DEFAULT_REFRACTORY_S = 1.2
#: FA/hour targets whose best recall the tables report.
FA_TARGETS = (1.0, 0.5)
#: Clips per positive work unit; seconds of audio per negative work unit.
POSITIVE_UNIT_FILES = 40
NEGATIVE_UNIT_S = 300.0
#: Bump when the cached arrays change meaning.
CACHE_VERSION = 1


# ------------------------------------------------------------------------------------------
# suite


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


# ------------------------------------------------------------------------------------------
# feature units (run in worker processes)


@dataclass
class Unit:
    """One cached piece of the feature pass."""

    kind: str  # "positive" (each file its own stream) or "negative" (files back to back)
    group: str
    files: list[Path]
    snr_db: float | None = None


@dataclass
class Settings:
    pad_s: float = DEFAULT_PAD_S
    gap_s: float = DEFAULT_GAP_S
    seed: int = 0


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


# ------------------------------------------------------------------------------------------
# the feature pass


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


# ------------------------------------------------------------------------------------------
# scoring


def score_stream(head: Any, initial: np.ndarray, emb: np.ndarray) -> np.ndarray:
    """Detector scores of one stream of chunk embeddings (the head after a reset).

    Equals ``openwakeword.Model.predict`` called chunk by chunk after ``reset()`` (when its
    start-up buffer is ``initial``), including the 5 zeroed warm-up predictions.
    """
    from wakeforge.evaluation.streaming import WARMUP_FRAMES

    n = len(emb)
    if n == 0:
        return np.zeros(0, np.float32)
    k = head.n_inputs
    full = np.concatenate([initial, emb]).astype(np.float32)
    n_init = len(initial)
    view = np.lib.stride_tricks.sliding_window_view(full, k, axis=0)  # [M, 96, k]
    windows = view[n_init + 1 - k : n_init + 1 - k + n].transpose(0, 2, 1)
    scores = np.asarray(head(windows), np.float32)
    scores[:WARMUP_FRAMES] = 0.0
    return scores


@dataclass
class ModelSpec:
    """A model to benchmark: label, file, phrase (slug; ``None`` = negatives only), threshold."""

    label: str
    path: Path
    phrase: str | None
    card_threshold: float | None = None


def card_for(path: Path) -> dict[str, Any] | None:
    """The wakeforge model card beside a model file (``{stem}.json``), if any and valid."""
    card = path.with_suffix(".json")
    if not card.is_file() or card.stat().st_size > 5_000_000:
        return None
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def thresholds_grid() -> np.ndarray:
    """DET grid: :func:`~wakeforge.core.metrics.default_thresholds` plus finer steps near 1."""
    from wakeforge.core.metrics import default_thresholds

    fine = 1.0 - np.logspace(-2.5, -6, 15)
    return np.unique(np.round(np.concatenate([default_thresholds(), fine]), 8))


def _recall(pos_max: np.ndarray, thr: float | None) -> float | None:
    if thr is None or len(pos_max) == 0:
        return None
    return float(np.mean(pos_max >= thr))


def _fa_h(streams: list[np.ndarray], thr: float, hours: float, refractory_frames: int) -> float | None:
    from wakeforge.core.metrics import count_activations

    if hours <= 0:
        return None
    return float(sum(count_activations(s, thr, refractory_frames) for s in streams) / hours)


def benchmark_model(
    spec: ModelSpec,
    sets: dict[tuple[str, str, float | None], StreamSet],
    initial: np.ndarray,
    *,
    snr_db: float | None,
    refractory_s: float = DEFAULT_REFRACTORY_S,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """All figures of one model on the cached streams."""
    from wakeforge.core.metrics import det_curve, refractory_frames_for, threshold_for_target
    from wakeforge.evaluation.streaming import load_head

    head = load_head(spec.path)
    r = refractory_frames_for(refractory_s)
    t0 = time.perf_counter()
    neg_streams: dict[str, list[np.ndarray]] = {}
    neg_hours: dict[str, float] = {}
    pos_scores: dict[tuple[str, float | None], list[np.ndarray]] = {}
    for (kind, group, snr), ss in sets.items():
        scored = [score_stream(head, initial, e) for e in ss.streams]
        if kind == "negative":
            neg_streams[group] = scored
            neg_hours[group] = ss.hours
        else:
            pos_scores[(group, snr)] = scored
    # other phrases' positives are negatives of this model
    for (group, snr), scored in pos_scores.items():
        if snr is None and group != spec.phrase:
            neg_streams[f"phrase:{group}"] = scored
            neg_hours[f"phrase:{group}"] = sets[("positive", group, None)].hours
    all_neg = [s for v in neg_streams.values() for s in v]
    all_hours = float(sum(neg_hours.values()))
    res: dict[str, Any] = {"label": spec.label, "path": str(spec.path), "phrase": spec.phrase,
                           "threshold": threshold, "refractory_s": refractory_s,
                           "negative_hours": {k: round(v, 4) for k, v in neg_hours.items()}}
    res["false_accepts_per_hour_at_threshold"] = {
        k: _fa_h(v, threshold, neg_hours[k], r) for k, v in neg_streams.items()}
    res["false_accepts_per_hour_all"] = _fa_h(all_neg, threshold, all_hours, r)
    pos = pos_scores.get((spec.phrase, None)) if spec.phrase else None
    if pos is None:
        res["seconds"] = round(time.perf_counter() - t0, 2)
        return res
    pos_max = np.array([float(s.max()) if len(s) else 0.0 for s in pos])
    noisy = pos_scores.get((spec.phrase, snr_db)) if snr_db is not None else None
    noisy_max = (np.array([float(s.max()) if len(s) else 0.0 for s in noisy])
                 if noisy is not None else None)
    det = det_curve(pos_max, all_neg, all_hours, thresholds_grid(), refractory_frames=r)
    res["n_positive"] = int(len(pos_max))
    res["recall_at_threshold"] = _recall(pos_max, threshold)
    if noisy_max is not None:
        res["snr_db"] = snr_db
        res["noisy_recall_at_threshold"] = _recall(noisy_max, threshold)
    res["at_target"] = {}
    for target in FA_TARGETS:
        t = threshold_for_target(det, target)
        entry = {"threshold": t, "recall": _recall(pos_max, t),
                 "false_accepts_per_hour": _fa_h(all_neg, t, all_hours, r) if t is not None else None}
        if noisy_max is not None:
            entry["noisy_recall"] = _recall(noisy_max, t)
        res["at_target"][f"{target:g}"] = entry
    if spec.card_threshold is not None:
        t = float(spec.card_threshold)
        entry = {"threshold": t, "recall": _recall(pos_max, t),
                 "false_accepts_per_hour": _fa_h(all_neg, t, all_hours, r)}
        if noisy_max is not None:
            entry["noisy_recall"] = _recall(noisy_max, t)
        res["at_card_threshold"] = entry
    res["det"] = det
    res["positive_max_scores"] = [round(float(x), 6) for x in pos_max]
    if noisy_max is not None:
        res["noisy_positive_max_scores"] = [round(float(x), 6) for x in noisy_max]
    res["seconds"] = round(time.perf_counter() - t0, 2)
    return res


def run_benchmark(
    suite_dir: str | os.PathLike[str],
    models: Sequence[ModelSpec],
    *,
    cache_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    snr_db: float | None = 10.0,
    noise_paths: Sequence[str | os.PathLike[str]] | None = None,
    refractory_s: float = DEFAULT_REFRACTORY_S,
    threshold: float = 0.5,
    settings: Settings | None = None,
    workers: int = 0,
    feature_paths: Any = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Benchmark models on a suite; write ``benchmark.json`` and DET plots to ``out_dir``."""
    from wakeforge.evaluation.report import load_noise_bank

    suite = load_suite(suite_dir)
    settings = settings or Settings()
    noise = None
    noise_sig = None
    if snr_db is not None:
        files = list(noise_paths) if noise_paths else [f for v in suite.noise.values() for f in v]
        if files:
            noise = load_noise_bank(files)
            from wakeforge.evaluation.report import expand_audio_paths

            noise_sig = _signature(expand_audio_paths(files, "noise"))
        else:
            noise_sig = "pink"  # mix_at_snr uses pink noise without a bank
    t0 = time.perf_counter()
    sets, initial, info = compute_features(
        suite, cache_dir=cache_dir, settings=settings, snr_db=snr_db, noise=noise,
        noise_sig=noise_sig, feature_paths=feature_paths, workers=workers, progress=progress)
    results = [benchmark_model(m, sets, initial, snr_db=snr_db, refractory_s=refractory_s,
                               threshold=threshold) for m in models]
    skipped = sorted({f for ss in sets.values() for f in ss.skipped})
    out: dict[str, Any] = {
        "suite": str(suite.root),
        "counting": {"pad_s": settings.pad_s, "gap_s": settings.gap_s,
                     "refractory_s": refractory_s, "threshold": threshold, "snr_db": snr_db,
                     "fa_targets": list(FA_TARGETS), "seed": settings.seed},
        "positives": {k: len(v) for k, v in suite.positives.items()},
        "negatives": {k: round(ss.hours, 4) for (kind, k, _), ss in sets.items()
                      if kind == "negative"},
        "skipped_files": skipped,
        "models": results,
        "features": info,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if out_dir is not None:
        write_outputs(out, Path(out_dir))
    return out


# ------------------------------------------------------------------------------------------
# output


def _strip(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strip(v) for v in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, (np.floating,)):
        return None if math.isnan(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def write_outputs(result: dict[str, Any], out_dir: Path) -> None:
    """``benchmark.json`` and ``det_<phrase>.png`` (one curve per model)."""
    from wakeforge.evaluation.det import plot_det_compare
    from wakeforge.utils.atomic import write_json_atomic, write_text_atomic

    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / "benchmark.json", _strip(result))
    plots = {}
    for phrase in sorted({m["phrase"] for m in result["models"] if m.get("det")}):
        curves = [(m["label"], m["det"]) for m in result["models"]
                  if m.get("phrase") == phrase and m.get("det")]
        path = out_dir / f"det_{phrase}.png"
        plot_det_compare(curves, path, title=f"{phrase}: {result['positives'].get(phrase, 0)} "
                         "real clips", targets=list(FA_TARGETS))
        plots[phrase] = str(path)
    result["plots"] = plots
    write_text_atomic(out_dir / "benchmark.txt", format_tables(result) + "\n")


def _f(x: Any, nd: int = 3) -> str:
    if x is None:
        return "-"
    return f"{x:.{nd}f}"


def format_tables(result: dict[str, Any]) -> str:
    """A table per phrase (and one for negatives-only models)."""
    c = result["counting"]
    lines = [f"suite {result['suite']}: threshold {c['threshold']}, refractory {c['refractory_s']} s, "
             f"pad {c['pad_s']} s, gaps {c['gap_s']} s"
             + (f", noisy = suite noise at {c['snr_db']:g} dB SNR" if c.get("snr_db") is not None else "")]
    neg_names = sorted({k for m in result["models"] for k in m["false_accepts_per_hour_at_threshold"]
                        if not k.startswith("phrase:")})
    by_phrase: dict[str, list[dict[str, Any]]] = {}
    for m in result["models"]:
        by_phrase.setdefault(m.get("phrase") if m.get("n_positive") else "", []).append(m)
    for phrase, models in sorted(by_phrase.items()):
        lines.append("")
        if phrase:
            lines.append(f"{phrase} ({result['positives'].get(phrase, 0)} real clips)")
        else:
            lines.append("models without positives in this suite (false accepts only)")
        head = ["model"]
        if phrase:
            head += ["recall@0.5", "noisy@0.5"]
        head += [f"FA/h {n}" for n in neg_names] + ["FA/h other phrases", "FA/h all"]
        if phrase:
            for t in FA_TARGETS:
                head += [f"recall@<={t:g}FA/h (thr)", "noisy"]
            head += ["recall@card (thr)", "noisy"]
        rows = [head]
        for m in models:
            fa = m["false_accepts_per_hour_at_threshold"]
            other = [k for k in fa if k.startswith("phrase:")]
            other_h = sum(m["negative_hours"][k] for k in other)
            other_fa = (sum((fa[k] or 0) * m["negative_hours"][k] for k in other) / other_h
                        if other_h > 0 else None)
            row = [m["label"]]
            if phrase:
                row += [_f(m.get("recall_at_threshold")), _f(m.get("noisy_recall_at_threshold"))]
            row += [_f(fa.get(n), 2) for n in neg_names] + [_f(other_fa, 2),
                                                            _f(m["false_accepts_per_hour_all"], 2)]
            if phrase:
                for t in FA_TARGETS:
                    e = m["at_target"][f"{t:g}"]
                    thr = "none" if e["threshold"] is None else f"{e['threshold']:.4g}"
                    row += [f"{_f(e['recall'])} ({thr})", _f(e.get("noisy_recall"))]
                e = m.get("at_card_threshold")
                row += ([f"{_f(e['recall'])} ({e['threshold']:.4g})", _f(e.get("noisy_recall"))]
                        if e else ["-", "-"])
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        for i, r in enumerate(rows):
            lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
    if result.get("skipped_files"):
        lines.append(f"\nskipped {len(result['skipped_files'])} unreadable files "
                     "(listed in benchmark.json)")
    f = result["features"]
    lines.append(f"\nfeatures: {f['units_computed']} of {f['units']} units computed "
                 f"({f['feature_seconds']} s), rest from the cache {f['cache_dir']}")
    return "\n".join(lines)
