"""Which real clips a model misses: recall by clip property (``benchmark --breakdown``).

Each positive clip of a suite is described by four numbers read from its 10 ms frame energies:

* ``speech_dbfs``: how loud the speech is (95th percentile of the frame levels, dBFS);
* ``floor_dbfs``: the recording's noise floor between words (10th percentile, dBFS);
* ``speech_s``: how long the phrase is spoken (seconds of frames above
  ``max(floor + 10 dB, speech - 30 dB)``);
* ``peak_dbfs``: the largest sample (0 dBFS = full scale, where clipping starts).

The clips of a phrase are cut into quartiles of each property (the same edges for every model of
that phrase) and recall at the operating threshold is counted per quartile, clean and with the
suite's noise. A recall that falls in one quartile points at what the training data lacks
(quiet or loud speakers, a noisy room, fast or slow speakers). The properties are measured only:
nothing here feeds training. Hand-written because it is a dozen lines of numpy over frame
energies; a feature-extraction library would add a dependency for percentiles.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.audio.constants import SAMPLE_RATE_HZ

#: Property name -> (label on tables and plots, unit).
PROPERTIES: dict[str, tuple[str, str]] = {
    "speech_dbfs": ("speech level", "dBFS"),
    "floor_dbfs": ("noise floor", "dBFS"),
    "speech_s": ("spoken length", "s"),
    "peak_dbfs": ("peak", "dBFS"),
}
FRAME_S = 0.01
#: Quietest frame level counted (digital silence would otherwise give -inf).
MIN_DB = -120.0


def clip_properties(audio: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> dict[str, float]:
    """The four :data:`PROPERTIES` of one mono clip (float samples, full scale 1.0).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(0, 1e-3, 32000).astype(np.float32)       # -60 dBFS noise (10th pct: -61)
        >>> x[8000:16000] += 0.1 * np.sin(np.arange(8000) * 0.3)     # 0.5 s at about -23 dBFS
        >>> p = clip_properties(x)
        >>> round(p["floor_dbfs"]), round(p["speech_s"], 2), round(p["peak_dbfs"])
        (-61, 0.5, -20)
    """
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    hop = max(1, int(round(FRAME_S * sample_rate_hz)))
    n = len(x) // hop
    if n == 0:
        return {k: float("nan") for k in PROPERTIES}
    frames = x[: n * hop].reshape(n, hop)
    level = np.maximum(10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-30), MIN_DB)
    floor = float(np.percentile(level, 10))
    speech = float(np.percentile(level, 95))
    active = level > max(floor + 10.0, speech - 30.0)
    peak = float(np.max(np.abs(x)))
    return {
        "speech_dbfs": speech,
        "floor_dbfs": floor,
        "speech_s": float(active.sum()) * hop / sample_rate_hz,
        "peak_dbfs": max(20.0 * np.log10(peak + 1e-30), MIN_DB),
    }


def files_properties(files: Sequence[str | os.PathLike[str]]) -> dict[str, np.ndarray]:
    """:func:`clip_properties` of each file, as one array per property (NaN: unreadable)."""
    from wakeforge.audio.io import load_audio
    from wakeforge.core.errors import WakeforgeError

    out = {k: np.full(len(files), np.nan) for k in PROPERTIES}
    for i, f in enumerate(files):
        try:
            props = clip_properties(load_audio(Path(f), allow_silent=True))
        except (WakeforgeError, OSError, ValueError):
            continue
        for k, v in props.items():
            out[k][i] = v
    return out


def quartile_recall(values: np.ndarray, scores: np.ndarray, threshold: float,
                    noisy_scores: np.ndarray | None = None, bins: int = 4) -> dict[str, Any]:
    """Recall at ``threshold`` in each of ``bins`` equal-count bins of ``values``.

    Clips whose value is NaN are left out. Bin ``i`` holds values in ``(edges[i], edges[i+1]]``
    (the first bin includes its lower edge), so tied values share a bin.

    Example:
        >>> q = quartile_recall(np.arange(8.0), np.array([0, 0, 1, 1, 1, 1, 0, 1.0]), 0.5)
        >>> q["n"], q["recall"]
        ([2, 2, 2, 2], [0.0, 1.0, 1.0, 0.5])
    """
    values = np.asarray(values, np.float64)
    scores = np.asarray(scores, np.float64)
    keep = np.isfinite(values)
    v = values[keep]
    if v.size == 0:
        return {"edges": [], "n": [], "recall": [], "noisy_recall": []}
    edges = np.quantile(v, np.linspace(0.0, 1.0, bins + 1))
    idx = np.clip(np.searchsorted(edges[1:-1], v, side="left"), 0, bins - 1)
    hit = scores[keep] >= threshold
    noisy = None if noisy_scores is None else np.asarray(noisy_scores, np.float64)[keep] >= threshold
    n, rec, nrec = [], [], []
    for b in range(bins):
        sel = idx == b
        n.append(int(sel.sum()))
        rec.append(float(hit[sel].mean()) if sel.any() else None)
        if noisy is not None:
            nrec.append(float(noisy[sel].mean()) if sel.any() else None)
    return {"edges": [float(e) for e in edges], "n": n, "recall": rec,
            "noisy_recall": nrec if noisy is not None else []}


def add_breakdowns(result: dict[str, Any], positive_files: dict[str, list[Path]]) -> None:
    """Attach ``breakdown`` (per property) to every model of a phrase with positives.

    ``positive_files[phrase]`` lists the phrase's readable clips in the order of the model's
    ``positive_max_scores``. The properties of each phrase's clips are measured once.
    """
    threshold = float(result["counting"]["threshold"])
    props: dict[str, dict[str, np.ndarray]] = {}
    for m in result["models"]:
        phrase, scores = m.get("phrase"), m.get("positive_max_scores")
        if not phrase or not scores or phrase not in positive_files:
            continue
        if phrase not in props:
            props[phrase] = files_properties(positive_files[phrase])
        noisy = m.get("noisy_positive_max_scores")
        m["breakdown"] = {
            k: quartile_recall(props[phrase][k], np.asarray(scores), threshold,
                               None if noisy is None else np.asarray(noisy))
            for k in PROPERTIES
        }


def _range(edges: list[float], b: int, unit: str) -> str:
    nd = 2 if unit == "s" else 0
    return f"{edges[b]:.{nd}f}..{edges[b + 1]:.{nd}f}"


def format_breakdowns(result: dict[str, Any]) -> str:
    """Text tables: one row per (model, property), recall per quartile (noisy in brackets)."""
    lines: list[str] = []
    thr = result["counting"]["threshold"]
    for m in result["models"]:
        bd = m.get("breakdown")
        if not bd:
            continue
        lines.append(f"\n{m['label']} ({m['phrase']}): recall at {thr:g} by quartile of each clip "
                     "property (noisy in brackets)")
        for k, (label, unit) in PROPERTIES.items():
            q = bd[k]
            if not q["n"]:
                continue
            cells = []
            for b in range(len(q["n"])):
                r, nr = q["recall"][b], (q["noisy_recall"][b] if q["noisy_recall"] else None)
                val = "-" if r is None else f"{r:.2f}"
                if nr is not None:
                    val += f" ({nr:.2f})"
                cells.append(f"{_range(q['edges'], b, unit)} {unit}: {val} [{q['n'][b]}]")
            lines.append(f"  {label:13s} " + " | ".join(cells))
    return "\n".join(lines)


def plot_breakdowns(result: dict[str, Any], out_dir: Path) -> dict[str, str]:
    """``breakdown_<phrase>.png``: recall per quartile of each property, one line per model."""
    from wakeforge.evaluation.det import _pyplot, _save

    plots: dict[str, str] = {}
    phrases = sorted({m["phrase"] for m in result["models"] if m.get("breakdown")})
    for phrase in phrases:
        models = [m for m in result["models"] if m.get("phrase") == phrase and m.get("breakdown")]
        plt = _pyplot()
        fig, axes = plt.subplots(1, len(PROPERTIES), figsize=(4 * len(PROPERTIES), 3.6),
                                 sharey=True)
        for ax, (k, (label, unit)) in zip(axes, PROPERTIES.items(), strict=True):
            for i, m in enumerate(models):
                q = m["breakdown"][k]
                if not q["n"]:
                    continue
                x = np.arange(len(q["n"]))
                y = [np.nan if r is None else r for r in q["recall"]]
                ax.plot(x, y, "o-", color=f"C{i % 10}", label=m["label"])
                if q["noisy_recall"]:
                    ny = [np.nan if r is None else r for r in q["noisy_recall"]]
                    ax.plot(x, ny, "o--", color=f"C{i % 10}", alpha=0.6)
                ax.set_xticks(x, [_range(q["edges"], b, unit) for b in range(len(q["n"]))],
                              fontsize=7)
            ax.set_title(f"{label} ({unit})", fontsize=9)
            ax.set_ylim(-0.02, 1.02)
            ax.grid(True, alpha=0.3)
        axes[0].set_ylabel(f"recall at {result['counting']['threshold']:g} (dashed: noisy)")
        axes[-1].legend(fontsize=7, loc="lower right")
        fig.suptitle(f"{phrase}: recall by quartile of the real clips' properties", fontsize=10)
        fig.tight_layout()
        path = out_dir / f"breakdown_{phrase}.png"
        _save(fig, path)
        plots[phrase] = str(path)
    return plots
