""":func:`run_benchmark`: a suite's feature pass, every model scored, the outputs written."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wakeforge.evaluation.benchmark.features import compute_features
from wakeforge.evaluation.benchmark.output import write_outputs
from wakeforge.evaluation.benchmark.scoring import ModelSpec, benchmark_model
from wakeforge.evaluation.benchmark.suite import DEFAULT_REFRACTORY_S, FA_TARGETS, Settings, load_suite
from wakeforge.evaluation.benchmark.units import _signature


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
    breakdown: bool = False,
) -> dict[str, Any]:
    """Benchmark models on a suite; write ``benchmark.json`` and DET plots to ``out_dir``.

    ``breakdown``: also count recall by quartile of each positive clip's level, noise floor,
    spoken length and peak (:mod:`wakeforge.evaluation.benchmark.breakdown`).
    """
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
    if breakdown:
        from wakeforge.evaluation.benchmark.breakdown import add_breakdowns

        add_breakdowns(out, {group: [ss.files[i] for i in ss.stream_files]
                             for (kind, group, snr), ss in sets.items()
                             if kind == "positive" and snr is None})
    if out_dir is not None:
        write_outputs(out, Path(out_dir))
    return out
