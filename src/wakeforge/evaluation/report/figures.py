"""The headline figures: the recommended-threshold rule, the figures at it, their text and scalars."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _num(x: Any) -> Any:
    """NaN -> None, numpy scalars -> Python (strict JSON)."""
    if x is None:
        return None
    if isinstance(x, (np.floating, float)):
        return None if math.isnan(float(x)) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


#: Negative groups that are near-miss phrases: reported as clips accepted, never per hour.
NEAR_MISS_GROUPS = ("adversarial",)

#: How the recommended threshold is chosen (card, log, report and summary say this).
THRESHOLD_RULE = ("the lowest threshold >= {floor:g} at which {audio} gives "
                  "<= {target:g} false accepts per hour, counted as whole false accepts over its "
                  "hours rounded up (every higher threshold too)")


def recommend_threshold(threshold_at_target: float | None, floor: float, *, has_hours: bool) -> tuple[float, bool | None]:
    """The one recommended threshold: ``max(floor, lowest threshold meeting the target)``.

    ``floor`` is the operating threshold (``model.threshold``, ``--threshold``): a small
    held-out set meets a per-hour target at almost any threshold, so the rule never goes
    below it. Returns ``(threshold, target met)``; with no threshold meeting the target the
    floor is returned with ``False``, and with no hours of negative audio ``None``.

    Example:
        >>> recommend_threshold(0.62, 0.5, has_hours=True), recommend_threshold(0.1, 0.5, has_hours=True)
        ((0.62, True), (0.5, True))
        >>> recommend_threshold(None, 0.5, has_hours=True), recommend_threshold(None, 0.5, has_hours=False)
        ((0.5, False), (0.5, None))
    """
    if not has_hours:
        return float(floor), None
    if threshold_at_target is None:
        return float(floor), False
    return float(max(floor, threshold_at_target)), True


def headline_figures(pos_max: np.ndarray, neg_hours: list[Any], near: list[Any], threshold: float,
                     refr: int, target_fa_per_hour: float, target_met: bool | None,
                     floor: float, hours_label: str = "negative recordings") -> dict[str, Any]:
    """The model's figures at ``threshold`` (one definition for card, log, W&B and report).

    * ``recall``: positives whose streaming score reaches the threshold, of all positives;
    * ``false_accepts_per_hour``: activations per hour over the negatives that are hours of
      audio (general speech, background streams; not near-miss phrases);
    * ``near_miss_accepted`` of ``near_miss_clips``: near-miss phrase clips with an activation.
    """
    from wakeforge.core import metrics

    hours = sum(n.duration_s for n in neg_hours) / 3600.0
    fa = int(sum(metrics.count_activations(n.scores, threshold, refr) for n in neg_hours))
    near_acc = int(sum(1 for n in near if metrics.count_activations(n.scores, threshold, refr) > 0))
    detected = int(np.sum(pos_max >= threshold)) if pos_max.size else 0
    return {
        "threshold": float(threshold),
        "threshold_rule": THRESHOLD_RULE.format(floor=floor, target=target_fa_per_hour, audio=hours_label),
        "target_fa_per_hour": float(target_fa_per_hour),
        "target_met": target_met,
        "recall": _num(detected / pos_max.size) if pos_max.size else None,
        "positives_detected": detected,
        "n_positive": int(pos_max.size),
        "false_accepts": fa,
        "false_accepts_per_hour": _num(fa / hours) if hours > 0 else None,
        "hours": hours,
        "hours_of": hours_label,
        "near_miss_accepted": near_acc,
        "near_miss_clips": len(near),
    }


#: The headline figures copied into the card's ``metrics``.
FIGURE_KEYS = ("threshold", "recall", "positives_detected", "n_positive", "false_accepts",
               "false_accepts_per_hour", "hours", "near_miss_accepted", "near_miss_clips", "target_fa_per_hour")


def figure_scalars(res: dict[str, Any], prefix: str = "test") -> dict[str, float]:
    """The figures (and per-group counts) as flat ``{prefix}/name`` scalars for loggers."""
    fig = res["figures"]
    flat = {f"{prefix}/{k}": float(fig[k]) for k in FIGURE_KEYS if isinstance(fig.get(k), (int, float))}
    for g, vals in (res.get("by_group") or {}).items():
        flat.update({f"{prefix}/{g}/{k}": float(v) for k, v in vals.items()
                     if isinstance(v, (int, float)) and not isinstance(v, bool)})
    for g, vals in (res.get("by_positive_group") or {}).items():
        flat[f"{prefix}/positive_{g}/recall"] = float(vals["recall"])
    return flat


def figures_text(fig: dict[str, Any]) -> str:
    """One line of :func:`headline_figures` (the log line and the summary say the same)."""
    rec = "n/a" if fig.get("recall") is None else f"{fig['recall']:.3f}"
    fah = fig.get("false_accepts_per_hour")
    parts = [f"threshold {fig['threshold']:g}",
             f"recall {rec} ({fig['positives_detected']} of {fig['n_positive']} positives)"]
    if fah is not None:
        parts.append(f"{fah:.2f} false accepts/hour ({fig['false_accepts']} in {fig['hours']:.3g} h of {fig.get('hours_of', 'negative audio')})")
    else:
        parts.append("no hours of negative audio to count false accepts per hour")
    if fig.get("near_miss_clips"):
        parts.append(f"accepted {fig['near_miss_accepted']} of {fig['near_miss_clips']} near-miss clips")
    return "; ".join(parts)
