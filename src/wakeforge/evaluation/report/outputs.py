"""Files an evaluation writes: ``metrics.json``, ``det.json``, ``per_file.json`` and the plots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


def _write_metrics(result: dict[str, Any], out: Path) -> None:
    from wakeforge.utils.atomic import write_json_atomic

    summary = {k: v for k, v in result.items() if k not in ("det", "pos_max_scores", "per_file")}
    write_json_atomic(out / "metrics.json", summary)


def write_outputs(
    result: dict[str, Any],
    per_file: list[dict[str, Any]],
    neg_streams: list[np.ndarray],
    out_dir: str | os.PathLike[str],
) -> dict[str, str]:
    """Write ``det.json``, ``det.png``, ``scores_hist.png``, ``per_file.json`` into ``out_dir``.

    ``metrics.json`` is written last by :func:`evaluate_model` (it records the run time).
    """
    from wakeforge.evaluation.det import plot_det, plot_score_histogram
    from wakeforge.utils.atomic import write_json_atomic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "metrics": out / "metrics.json",
        "det_json": out / "det.json",
        "det_png": out / "det.png",
        "scores_hist_png": out / "scores_hist.png",
        "per_file": out / "per_file.json",
    }
    write_json_atomic(paths["det_json"], result["det"])
    write_json_atomic(paths["per_file"], per_file)
    title = f"{result['model_name']} ({result['framework']})"
    if result.get("snr_db") is not None:
        title += f", noise at {result['snr_db']:g} dB SNR"
    plot_det(
        result["det"], paths["det_png"], threshold=result["threshold"],
        target_fa_per_hour=result["target_fa_per_hour"],
        threshold_at_target=result.get("recommended_threshold"), title=title,
    )
    neg_all = np.concatenate(neg_streams) if neg_streams else np.zeros(0)
    plot_score_histogram(result["pos_max_scores"], neg_all, paths["scores_hist_png"],
                         threshold=result["threshold"], title=title)
    return {k: str(v) for k, v in paths.items()}
