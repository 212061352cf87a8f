"""Evaluation on recordings: the detector's streaming scores, event-level metrics, DET plots.

Imports are lazy so ``import wakeforge.evaluation`` pulls in neither onnxruntime nor matplotlib.

Public API:
    - :class:`StreamingScorer`, :class:`StreamingFeatures`, :func:`score_many`
      (``eval.streaming``): scores every 80 ms exactly as ``openwakeword.Model.predict``.
    - event-level metrics (recall, false accepts per hour, DET curve) live in
      :mod:`wakeforge.core.metrics`: training's validation uses them too.
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
    "plot_det": "det",
    "plot_score_histogram": "det",
    "evaluate_model": "report",
    "format_summary": "report",
    "log_to_wandb": "report",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
