"""Evaluate a wake word model on recordings: recall, false accepts/hour, DET curve, plots.

:func:`evaluate_model` is shared by ``python -m wakeforge.evaluate`` (a user's own recordings)
and the end of training (the held-out ``positive_test`` / ``negative_test`` split). Every file
goes through :class:`~wakeforge.evaluation.streaming.StreamingScorer`, the detector's own 80 ms path.

* A *positive* recording holds one utterance of the wake word; it is detected when its highest
  score reaches the threshold. Recall = detected / positives.
* *Negative* recordings (clips or long files) hold no wake word; every activation (score run
  crossing the threshold, 2 s refractory by default, see :mod:`wakeforge.core.metrics`) is a
  false accept. FA/hour = false accepts / hours of negative audio (the files' own durations,
  not counting the 1 s noise padding on each side). Negatives grouped as near-miss phrases
  (``negative_groups``, :data:`NEAR_MISS_GROUPS`) are clips chosen to sound like the phrase,
  not hours of use: they are counted as "accepted N of M clips" and left out of every per-hour
  figure and of the DET curve.
* The **recommended threshold** is one number chosen by one rule (:func:`recommend_threshold`):
  the lowest threshold at or above the operating ``threshold`` at which the hours of negative
  audio give at most ``target_fa_per_hour``. ``figures`` (:func:`headline_figures`) are the
  model's figures at it; the model card, the training log, W&B and ``report.html`` show them.

Outputs in ``out_dir``: ``metrics.json`` (numbers, worst cases, skipped files), ``det.json``
(the curve), ``det.png``, ``scores_hist.png`` and ``per_file.json``.
"""

from __future__ import annotations

from wakeforge.evaluation.report.evaluate import (SNIPPET_AFTER_S, SNIPPET_BEFORE_S, SNIPPET_WHOLE_FILE_S,
                                                  evaluate_model)
from wakeforge.evaluation.report.figures import (FIGURE_KEYS, NEAR_MISS_GROUPS, THRESHOLD_RULE,
                                                 figure_scalars, figures_text, headline_figures,
                                                 recommend_threshold)
from wakeforge.evaluation.report.inputs import PathsArg, expand_audio_paths, load_noise_bank
from wakeforge.evaluation.report.outputs import write_outputs
from wakeforge.evaluation.report.summary import format_summary
from wakeforge.evaluation.report.wandb_log import log_to_wandb

__all__ = [
    "FIGURE_KEYS", "NEAR_MISS_GROUPS", "SNIPPET_AFTER_S", "SNIPPET_BEFORE_S", "SNIPPET_WHOLE_FILE_S",
    "THRESHOLD_RULE", "PathsArg", "evaluate_model", "expand_audio_paths", "figure_scalars",
    "figures_text", "format_summary", "headline_figures", "load_noise_bank", "log_to_wandb",
    "recommend_threshold", "write_outputs",
]
