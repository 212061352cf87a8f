""":func:`log_to_wandb`: an evaluation's figures, plots, DET table and audio to Weights & Biases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wakeforge.core.errors import AudioError
from wakeforge.evaluation.report.figures import figure_scalars


def log_to_wandb(result: dict[str, Any], logger: Any = None, prefix: str = "test",
                 max_audio: int = 5) -> bool:
    """Log an evaluation to Weights & Biases if a run is active.

    Scalars (the ``figures``: ``{prefix}/recall``, ``{prefix}/false_accepts_per_hour``,
    ``{prefix}/threshold``, ``{prefix}/near_miss_accepted``, per group), the DET and histogram PNGs
    (``wandb.Image``), the DET points (``wandb.Table``) and audio snippets of the worst false
    accepts and misses (``wandb.Audio``).

    Args:
        result: Output of :func:`evaluate_model` (with ``out_dir`` set, for the PNGs).
        logger: A Lightning ``WandbLogger``, a ``wandb`` run, or ``None`` for ``wandb.run``.
        prefix: Metric key prefix.
        max_audio: Snippets logged per kind.

    Returns:
        True if something was logged, False if wandb is missing or no run is active.
    """
    try:
        import wandb
    except ImportError:
        return False
    run = getattr(logger, "experiment", logger) if logger is not None else wandb.run
    if run is None or not hasattr(run, "log"):
        return False
    from wakeforge.audio.constants import SAMPLE_RATE_HZ
    from wakeforge.audio.io import load_audio

    # The same figures as the card and report: at the recommended threshold.
    payload: dict[str, Any] = dict(figure_scalars(result, prefix))
    outputs = result.get("outputs") or {}
    for key, name in (("det_png", "det"), ("scores_hist_png", "score_histogram")):
        if outputs.get(key) and Path(outputs[key]).is_file():
            payload[f"{prefix}/{name}"] = wandb.Image(outputs[key])
    det = result["det"]
    rows = [[t, r, fa] for t, r, fa in zip(det["thresholds"], det["miss_rate"],
                                           det["false_accepts_per_hour"], strict=True)]
    payload[f"{prefix}/det_table"] = wandb.Table(
        columns=["threshold", "miss_rate", "fa_per_hour"], data=rows)

    def clips(items: list[dict[str, Any]], kind: str) -> list[Any]:
        out = []
        for it in items[:max_audio]:
            try:
                audio = load_audio(it["path"], allow_silent=True)
            except AudioError:
                continue
            a = int(it["start_s"] * SAMPLE_RATE_HZ)
            b = max(a + 1, int(it["end_s"] * SAMPLE_RATE_HZ))
            cap = f"{kind} {Path(it['path']).name} @ {it['time_s']:.2f}s score {it['score']:.3f}"
            out.append(wandb.Audio(audio[a:b], sample_rate=SAMPLE_RATE_HZ, caption=cap))
        return out

    fa_audio = clips([w for w in result["worst_false_accepts"]], "negative")
    miss_audio = clips(result["worst_misses"], "positive")
    if fa_audio:
        payload[f"{prefix}/worst_false_accepts"] = fa_audio
    if miss_audio:
        payload[f"{prefix}/worst_misses"] = miss_audio
    run.log(payload)
    return True
