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

from wakeforge.evaluation.benchmark.features import (NEGATIVE_UNIT_S, POSITIVE_UNIT_FILES, StreamSet,
                                                     compute_features)
from wakeforge.evaluation.benchmark.output import format_tables, write_outputs
from wakeforge.evaluation.benchmark.run import run_benchmark
from wakeforge.evaluation.benchmark.scoring import (ModelSpec, benchmark_model, card_for, score_stream,
                                                    thresholds_grid)
from wakeforge.evaluation.benchmark.suite import (DEFAULT_GAP_S, DEFAULT_PAD_S, DEFAULT_REFRACTORY_S,
                                                  FA_TARGETS, Settings, Suite, load_suite, slug)
from wakeforge.evaluation.benchmark.units import (CACHE_VERSION, Unit, compute_unit, n_predict_chunks,
                                                  padded_clip, unit_key)

__all__ = [
    "CACHE_VERSION", "DEFAULT_GAP_S", "DEFAULT_PAD_S", "DEFAULT_REFRACTORY_S", "FA_TARGETS",
    "NEGATIVE_UNIT_S", "POSITIVE_UNIT_FILES", "ModelSpec", "Settings", "StreamSet", "Suite", "Unit",
    "benchmark_model", "card_for", "compute_features", "compute_unit", "format_tables", "load_suite",
    "n_predict_chunks", "padded_clip", "run_benchmark", "score_stream", "slug", "thresholds_grid",
    "unit_key", "write_outputs",
]
