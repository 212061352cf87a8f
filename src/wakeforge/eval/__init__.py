"""Evaluation on recordings: the detector's streaming scores, event-level metrics, DET plots.

Imports are lazy so ``import wakeforge.eval`` pulls in neither onnxruntime nor matplotlib.

Public API:
    - :class:`StreamingScorer`, :class:`StreamingFeatures`, :func:`score_many`
      (``eval.streaming``): scores every 80 ms exactly as ``openwakeword.Model.predict``.
    - :func:`count_activations`, :func:`activation_frames`, :func:`false_accepts_per_hour`,
      :func:`frame_level_false_positives`, :func:`recall`, :func:`det_curve`,
      :func:`threshold_for_target`, :class:`ActivationTracker` (``eval.metrics``).
    - :func:`plot_det`, :func:`plot_score_histogram` (``eval.det``).
    - :func:`evaluate_model`, :func:`log_to_wandb`, :func:`format_summary` (``eval.report``).
"""

from __future__ import annotations


from wakeforge.utils.lazy import lazy_exports

_EXPORTS = {
    "StreamingScorer": "streaming",
    "StreamingFeatures": "streaming",
    "FileScores": "streaming",
    "score_many": "streaming",
    "score_file_many": "streaming",
    "ActivationTracker": "metrics",
    "activation_frames": "metrics",
    "count_activations": "metrics",
    "det_curve": "metrics",
    "false_accepts_per_hour": "metrics",
    "frame_level_false_positives": "metrics",
    "recall": "metrics",
    "threshold_for_target": "metrics",
    "plot_det": "det",
    "plot_score_histogram": "det",
    "evaluate_model": "report",
    "format_summary": "report",
    "log_to_wandb": "report",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
