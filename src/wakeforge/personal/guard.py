"""The guard: score the old and the new model on what adaptation never saw; refuse a worse one.

Both models are scored through the detector's streaming path exactly as
``python -m wakeforge.benchmark`` counts (:mod:`wakeforge.evaluation.benchmark`): each held-out
recording padded with 1 s of silence, heard when any 80 ms chunk reaches the threshold; the
base run's held-out general speech (stage 1's ``negative_test`` clips of kind ``general``) and
the held-out share of the user's negatives streamed back to back, every activation (1.2 s
refractory period) a false accept. The streaming features of the base run's held-out speech are
cached like the benchmark's, so a second adaptation of the same model costs no feature pass.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.core.errors import WakeforgeError

log = logging.getLogger(__name__)


@dataclass
class Figures:
    """One model's figures on the guard's held-out audio."""

    recall: float | None
    mean_score: float | None
    fa_per_hour: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"held_out_recall": self.recall, "held_out_mean_max_score": self.mean_score,
                "false_accepts_per_hour": self.fa_per_hour}


@dataclass
class HeldOut:
    """Embedding streams of the guard's audio, computed once for both models."""

    positives: list[np.ndarray]              # one stream per held-out recording
    negatives: dict[str, list[np.ndarray]]   # set -> streams
    hours: dict[str, float]
    initial: np.ndarray


class GuardRefused(WakeforgeError):
    """The adapted model would accept more false alarms than allowed; the old one is kept."""


def general_speech_files(work_dir: Path) -> list[Path]:
    """The base run's held-out general-speech clips (stage 1's ``negative_test``)."""
    from wakeforge.evaluation.callbacks import negative_kinds
    from wakeforge.core.layout import clips_dir

    folder = clips_dir(work_dir, "negative_test")
    kinds = negative_kinds(folder)
    return sorted(Path(p) for p, k in kinds.items() if k == "general" and Path(p).is_file())


def held_out_streams(
    takes: Sequence[np.ndarray],
    speech_files: Sequence[Path],
    negative_pieces: Sequence[np.ndarray],
    *,
    cache_dir: Path,
    feature_paths: Any = None,
    workers: int = 0,
) -> HeldOut:
    """Streaming embeddings of the held-out recordings and negatives (speech from the cache)."""
    from wakeforge.audio.constants import SAMPLE_RATE_HZ
    from wakeforge.evaluation.benchmark import (DEFAULT_GAP_S, DEFAULT_PAD_S, Suite, compute_features,
                                          n_predict_chunks, padded_clip)
    from wakeforge.evaluation.streaming import StreamingFeatures, to_int16
    from wakeforge.features.assets import feature_model_paths

    feature_paths = feature_paths if feature_paths is not None else feature_model_paths()
    feats = StreamingFeatures(feature_paths, seed=0)
    n_init = len(feats.initial_embeddings)
    positives = []
    for a in takes:
        x = padded_clip(a, DEFAULT_PAD_S)
        positives.append(feats.stream(x[: n_predict_chunks(len(x)) * 1280])[n_init:])
    negatives: dict[str, list[np.ndarray]] = {}
    hours: dict[str, float] = {}
    if speech_files:
        suite = Suite(root=Path(speech_files[0]).parent, negatives={"general_speech": list(speech_files)})
        sets, _initial, info = compute_features(suite, cache_dir=cache_dir, snr_db=None, workers=workers,
                                              feature_paths=feature_paths, progress=True)
        ss = sets[("negative", "general_speech", None)]
        negatives["general_speech"] = ss.streams
        hours["general_speech"] = ss.hours
        log.info("guard: %.2f h of held-out general speech (%d clips; %d of %d feature units computed)",
                 ss.hours, len(speech_files), info["units_computed"], info["units"])
    if len(negative_pieces):
        gap = np.zeros(int(round(DEFAULT_GAP_S * SAMPLE_RATE_HZ)), np.float32)
        parts = [p for piece in negative_pieces for p in (piece, gap)]
        x = to_int16(np.concatenate(parts))
        negatives["your_negatives"] = [feats.stream(x[: n_predict_chunks(len(x)) * 1280])[n_init:]]
        hours["your_negatives"] = len(x) / SAMPLE_RATE_HZ / 3600.0
    return HeldOut(positives, negatives, hours, feats.initial_embeddings)


def figures(model: Path, held: HeldOut, threshold: float) -> Figures:
    """Recall, mean best score and false accepts per hour of one model file on the held-out audio."""
    from wakeforge.evaluation.benchmark import DEFAULT_REFRACTORY_S, score_stream
    from wakeforge.core.metrics import count_activations, refractory_frames_for
    from wakeforge.evaluation.streaming import load_head

    head = load_head(model)
    best = np.array([float(score_stream(head, held.initial, e).max(initial=0.0)) for e in held.positives])
    r = refractory_frames_for(DEFAULT_REFRACTORY_S)
    fa = {}
    for name, streams in held.negatives.items():
        n = sum(count_activations(score_stream(head, held.initial, e), threshold, r) for e in streams)
        fa[name] = float(n / held.hours[name]) if held.hours[name] > 0 else 0.0
    return Figures(float(np.mean(best >= threshold)) if best.size else None,
                   float(best.mean()) if best.size else None, fa)


def decide(old: Figures, new: Figures, max_fa_increase: float, hours: dict[str, float]) -> str | None:
    """The reason to refuse the new model, or None to accept it."""
    for name, fa_new in new.fa_per_hour.items():
        fa_old = old.fa_per_hour.get(name, 0.0)
        if fa_new - fa_old > max_fa_increase + 1e-9:
            one = 1.0 / hours[name] if hours.get(name) else float("nan")
            return (f"the adapted model accepts {fa_new:.2f} false alarms per hour on held-out {name.replace('_', ' ')} "
                    f"against {fa_old:.2f} for the old one (+{fa_new - fa_old:.2f} > finetune.max_fa_increase="
                    f"{max_fa_increase:g}; one false accept is {one:.2f}/h on these {hours[name]:.2f} h)")
    return None
