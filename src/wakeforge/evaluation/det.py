"""Plots of an evaluation: the DET curve and the score histogram (matplotlib, Agg backend).

Both functions write a PNG atomically and return its path; matplotlib is imported inside them
so importing :mod:`wakeforge.evaluation` stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.utils.atomic import atomic_path


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    plt = _pyplot()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def plot_det(
    det: dict[str, Any],
    path: str | os.PathLike[str],
    *,
    threshold: float | None = None,
    target_fa_per_hour: float | None = None,
    threshold_at_target: float | None = None,
    title: str = "",
) -> Path:
    """Write the DET curve (miss rate vs false accepts/hour) and both rates vs threshold.

    Args:
        det: Output of :func:`wakeforge.core.metrics.det_curve`.
        path: PNG to write.
        threshold: Operating threshold to mark.
        target_fa_per_hour: Target FA/hour to draw as a vertical line.
        threshold_at_target: The recommended threshold (meets the target), to mark.
        title: Figure title (model name).

    Returns:
        ``path``.
    """
    plt = _pyplot()
    thr = np.asarray(det["thresholds"], np.float64)
    miss = np.array([np.nan if v is None else 100.0 * v for v in det["miss_rate"]])
    fa = np.array([np.nan if v is None else v for v in det["false_accepts_per_hour"]], float)
    frame_fp = np.array(
        [np.nan if v is None else v for v in det.get("frame_false_positives_per_hour", [])], float
    )
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))

    def mark(ax: Any, t: float | None, style: str, label: str, x_is_fa: bool) -> None:
        if t is None or len(thr) == 0:
            return
        i = int(np.argmin(np.abs(thr - t)))
        x = fa[i] if x_is_fa else thr[i]
        if np.isfinite(x) and np.isfinite(miss[i]):
            text = f"{label} {thr[i]:.3g}: miss {miss[i]:.1f}%"
            if np.isfinite(fa[i]):
                text += f", {fa[i]:.3g} FA/h"
            ax.plot([x], [miss[i]], style, ms=9, label=text)

    if np.any(np.isfinite(fa)) and np.any(np.isfinite(miss)):
        ax1.plot(fa, miss, "-", color="C0", lw=2, label="event level (refractory)")
        if np.any(np.isfinite(frame_fp)):
            ax1.plot(frame_fp, miss, ":", color="C7", lw=1.5, label="frame level (openWakeWord)")
        mark(ax1, threshold, "o", "threshold", True)
        mark(ax1, threshold_at_target, "s", "recommended", True)
        if target_fa_per_hour is not None:
            ax1.axvline(target_fa_per_hour, color="C3", ls="--", lw=1,
                        label=f"target {target_fa_per_hour:g} FA/h")
        ax1.set_xscale("symlog", linthresh=0.1)
        right = max(1.0, float(np.nanmax(fa)) * 1.3, 3.0 * (target_fa_per_hour or 0.0))
        ax1.set_xlim(0, right)
        ax1.legend(fontsize=8, loc="upper right")
    else:
        ax1.text(0.5, 0.5, "needs positive and negative audio", ha="center", va="center",
                 transform=ax1.transAxes)
    ax1.set_xlabel(f"false accepts per hour ({det.get('hours', 0):.3g} h of negative audio)")
    ax1.set_ylabel(f"miss rate % ({det.get('n_positive', 0)} positives)")
    ax1.set_ylim(-2, 102)
    ax1.grid(True, which="both", alpha=0.3)
    ax1.set_title("DET")

    ax2.plot(thr, miss, "-", color="C1", label="miss rate %")
    ax2.set_xlabel("threshold")
    ax2.set_ylabel("miss rate %", color="C1")
    ax2.set_ylim(-2, 102)
    ax2.grid(True, alpha=0.3)
    if np.any(np.isfinite(fa)):
        ax3 = ax2.twinx()
        ax3.plot(thr, fa, "-", color="C0", label="FA/h")
        ax3.set_yscale("symlog", linthresh=0.1)
        ax3.set_ylim(0, max(1.0, float(np.nanmax(fa)) * 1.3))
        ax3.set_ylabel("false accepts per hour", color="C0")
    if threshold is not None:
        ax2.axvline(threshold, color="k", ls=":", lw=1)
    if threshold_at_target is not None:
        ax2.axvline(threshold_at_target, color="C3", ls="--", lw=1)
    ax2.set_title("rates vs threshold")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_score_histogram(
    pos_max_scores: Sequence[float] | np.ndarray,
    neg_scores: Sequence[float] | np.ndarray,
    path: str | os.PathLike[str],
    *,
    threshold: float | None = None,
    title: str = "",
) -> Path:
    """Histogram of positive max scores and negative frame scores (log counts).

    Args:
        pos_max_scores: Max score of each positive recording.
        neg_scores: Every frame score of the negative recordings.
        path: PNG to write.
        threshold: Operating threshold to mark.
        title: Figure title.

    Returns:
        ``path``.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0.0, 1.0, 51)
    pos = np.clip(np.asarray(pos_max_scores, np.float64), 0, 1)
    neg = np.clip(np.asarray(neg_scores, np.float64), 0, 1)
    if len(neg):
        ax.hist(neg, bins=bins, color="C0", alpha=0.6, label=f"negative frames ({len(neg)})")
    if len(pos):
        ax.hist(pos, bins=bins, color="C1", alpha=0.6, label=f"positive max ({len(pos)})")
    if threshold is not None:
        ax.axvline(threshold, color="k", ls=":", lw=1, label=f"threshold {threshold:g}")
    ax.set_yscale("log")
    ax.set_xlabel("score")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_det_compare(
    curves: Sequence[tuple[str, dict[str, Any]]],
    path: str | os.PathLike[str],
    *,
    title: str = "",
    targets: Sequence[float] = (),
    threshold: float = 0.5,
) -> Path:
    """One DET curve per model (miss rate vs false accepts/hour) on one set of axes.

    Args:
        curves: ``(label, det)`` pairs, ``det`` from :func:`wakeforge.core.metrics.det_curve`.
        path: PNG to write.
        title: Figure title.
        targets: FA/hour targets to draw as vertical lines.
        threshold: Operating threshold to mark on every curve.

    Returns:
        ``path``.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    right = 1.0
    for i, (label, det) in enumerate(curves):
        thr = np.asarray(det["thresholds"], np.float64)
        miss = np.array([np.nan if v is None else 100.0 * v for v in det["miss_rate"]])
        fa = np.array([np.nan if v is None else v for v in det["false_accepts_per_hour"]], float)
        if not (np.any(np.isfinite(fa)) and np.any(np.isfinite(miss))):
            continue
        color = f"C{i % 10}"
        ax.plot(fa, miss, "-", color=color, lw=2, label=label)
        j = int(np.argmin(np.abs(thr - threshold)))
        ax.plot([fa[j]], [miss[j]], "o", color=color, ms=7)
        right = max(right, float(np.nanmax(fa)) * 1.3)
    for t in targets:
        ax.axvline(t, color="k", ls="--", lw=0.8)
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlim(0, right)
    ax.set_ylim(-2, 102)
    ax.set_xlabel(f"false accepts per hour (dots: threshold {threshold:g}; dashed: "
                  + ", ".join(f"{t:g}" for t in targets) + " FA/h)")
    ax.set_ylabel("miss rate %")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)
