""":func:`format_summary`: a few human-readable lines about an evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wakeforge.evaluation.report.figures import figures_text


def format_summary(result: dict[str, Any], max_files: int = 12) -> str:
    """A few human-readable lines about an evaluation (for the CLI and logs).

    Per-file lines are added when there are at most ``max_files`` files.
    """

    def f(x: Any, spec: str = ".3f") -> str:
        return "n/a" if x is None else format(x, spec)

    lines = [
        f"model {result['model_name']} ({result['framework']}): {result['model']}",
        f"positives: {result['n_positive']}  recall@{result['threshold']:g} = "
        f"{f(result['recall'])}  ({result['misses']} missed)",
        f"negatives: {result['n_negative_files']} files, {result['negative_hours'] * 3600:.1f} s;"
        f"  false accepts@{result['threshold']:g} = {result['false_accepts']} "
        f"({f(result['false_accepts_per_hour'], '.2f')}/h; openWakeWord frame count "
        f"{result['frame_false_positives']} = "
        f"{f(result['frame_false_positives_per_hour'], '.2f')}/h)",
        f"recommended threshold {result['recommended_threshold']:.4g} ({result['figures']['threshold_rule']}): "
        + figures_text(result["figures"]),
    ]
    per_file = result.get("per_file") or []
    if 0 < len(per_file) <= max_files:
        for r in per_file:
            lines.append(f"  {r['role']:<8} {Path(r['path']).name}: max score {r['max_score']:.4f} "
                         f"at {r['max_time_s']:.2f} s, {r['activations']} activation(s)")
    if result["skipped_files"]:
        lines.append(f"skipped {len(result['skipped_files'])} unreadable files (see metrics.json)")
    if result.get("outputs"):
        lines.append(f"wrote {Path(result['outputs']['metrics']).parent}/"
                     "{metrics.json, det.json, det.png, scores_hist.png, per_file.json}")
    return "\n".join(lines)
