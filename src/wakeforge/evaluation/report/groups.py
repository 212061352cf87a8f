"""Per-group figures: negatives by group (general, adversarial, ...), positives by TTS engine/voice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from wakeforge.evaluation.report.figures import NEAR_MISS_GROUPS, _num


def _by_group(
    neg: list[Any],
    groups: dict[str, str],
    pos_max: np.ndarray,
    threshold: float,
    target_fa_per_hour: float,
    thresholds: Sequence[float] | None,
    refr: int,
) -> dict[str, dict[str, Any]]:
    """Per-group negative metrics (see ``negative_groups`` in :func:`evaluate_model`)."""
    from wakeforge.core import metrics

    by: dict[str, list[Any]] = {}
    for n in neg:
        by.setdefault(groups.get(str(n.path), "other"), []).append(n)
    out: dict[str, dict[str, Any]] = {}
    for name, items in sorted(by.items()):
        streams = [n.scores for n in items]
        hours = sum(n.duration_s for n in items) / 3600.0
        fas = [metrics.count_activations(s, threshold, refr) for s in streams]
        accepted = int(sum(1 for f in fas if f > 0))
        row: dict[str, Any] = {
            "kind": "near-miss clips" if name in NEAR_MISS_GROUPS else "hours",
            "threshold": float(threshold),
            "files": len(items),
            "hours": hours,
            "false_accepts": int(sum(fas)),
            "files_accepted": accepted,
            "accept_rate": _num(accepted / len(items)),
        }
        if name not in NEAR_MISS_GROUPS:  # clips chosen to confuse are not hours of use
            det = metrics.det_curve(pos_max, streams, hours, thresholds, refractory_frames=refr)
            thr = metrics.threshold_for_target(det, target_fa_per_hour)
            row.update({
                "false_accepts_per_hour": _num(sum(fas) / hours) if hours > 0 else None,
                "threshold_at_target": thr,
                "recall_at_target": _num(metrics.recall_at(det, thr)) if pos_max.size else None,
            })
        out[name] = row
    return out


def _by_positive_group(pos: list[Any], groups: dict[str, str], threshold: float) -> dict[str, dict[str, Any]]:
    """Recall per positive group (TTS engine, voice) at ``threshold``."""
    by: dict[str, list[float]] = {}
    for p in pos:
        by.setdefault(groups.get(str(p.path), "other"), []).append(p.max_score)
    return {name: {"files": len(v), "detected": int(sum(1 for x in v if x >= threshold)),
                   "recall": float(np.mean(np.asarray(v) >= threshold)), "threshold": float(threshold)}
            for name, v in sorted(by.items())}
