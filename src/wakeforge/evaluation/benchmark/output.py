"""Benchmark output: ``benchmark.json``, DET plots per phrase and the text tables."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.evaluation.benchmark.suite import FA_TARGETS


def _strip(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strip(v) for v in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, (np.floating,)):
        return None if math.isnan(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def write_outputs(result: dict[str, Any], out_dir: Path) -> None:
    """``benchmark.json`` and ``det_<phrase>.png`` (one curve per model)."""
    from wakeforge.evaluation.det import plot_det_compare
    from wakeforge.utils.atomic import write_json_atomic, write_text_atomic

    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / "benchmark.json", _strip(result))
    plots = {}
    for phrase in sorted({m["phrase"] for m in result["models"] if m.get("det")}):
        curves = [(m["label"], m["det"]) for m in result["models"]
                  if m.get("phrase") == phrase and m.get("det")]
        path = out_dir / f"det_{phrase}.png"
        plot_det_compare(curves, path, title=f"{phrase}: {result['positives'].get(phrase, 0)} "
                         "real clips", targets=list(FA_TARGETS))
        plots[phrase] = str(path)
    result["plots"] = plots
    if any(m.get("breakdown") for m in result["models"]):
        from wakeforge.evaluation.benchmark.breakdown import plot_breakdowns

        result["breakdown_plots"] = plot_breakdowns(result, out_dir)
    write_text_atomic(out_dir / "benchmark.txt", format_tables(result) + "\n")


def _f(x: Any, nd: int = 3) -> str:
    if x is None:
        return "-"
    return f"{x:.{nd}f}"


def format_tables(result: dict[str, Any]) -> str:
    """A table per phrase (and one for negatives-only models)."""
    c = result["counting"]
    lines = [f"suite {result['suite']}: threshold {c['threshold']}, refractory {c['refractory_s']} s, "
             f"pad {c['pad_s']} s, gaps {c['gap_s']} s"
             + (f", noisy = suite noise at {c['snr_db']:g} dB SNR" if c.get("snr_db") is not None else "")]
    neg_names = sorted({k for m in result["models"] for k in m["false_accepts_per_hour_at_threshold"]
                        if not k.startswith("phrase:")})
    by_phrase: dict[str, list[dict[str, Any]]] = {}
    for m in result["models"]:
        by_phrase.setdefault(m.get("phrase") if m.get("n_positive") else "", []).append(m)
    for phrase, models in sorted(by_phrase.items()):
        lines.append("")
        if phrase:
            lines.append(f"{phrase} ({result['positives'].get(phrase, 0)} real clips)")
        else:
            lines.append("models without positives in this suite (false accepts only)")
        head = ["model"]
        if phrase:
            head += ["recall@0.5", "noisy@0.5"]
        head += [f"FA/h {n}" for n in neg_names] + ["FA/h other phrases", "FA/h all"]
        if phrase:
            for t in FA_TARGETS:
                head += [f"recall@<={t:g}FA/h (thr)", "noisy"]
            head += ["recall@card (thr)", "noisy"]
        rows = [head]
        for m in models:
            fa = m["false_accepts_per_hour_at_threshold"]
            other = [k for k in fa if k.startswith("phrase:")]
            other_h = sum(m["negative_hours"][k] for k in other)
            other_fa = (sum((fa[k] or 0) * m["negative_hours"][k] for k in other) / other_h
                        if other_h > 0 else None)
            row = [m["label"]]
            if phrase:
                row += [_f(m.get("recall_at_threshold")), _f(m.get("noisy_recall_at_threshold"))]
            row += [_f(fa.get(n), 2) for n in neg_names] + [_f(other_fa, 2),
                                                            _f(m["false_accepts_per_hour_all"], 2)]
            if phrase:
                for t in FA_TARGETS:
                    e = m["at_target"][f"{t:g}"]
                    thr = "none" if e["threshold"] is None else f"{e['threshold']:.4g}"
                    row += [f"{_f(e['recall'])} ({thr})", _f(e.get("noisy_recall"))]
                e = m.get("at_card_threshold")
                row += ([f"{_f(e['recall'])} ({e['threshold']:.4g})", _f(e.get("noisy_recall"))]
                        if e else ["-", "-"])
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        for i, r in enumerate(rows):
            lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
    if result.get("skipped_files"):
        lines.append(f"\nskipped {len(result['skipped_files'])} unreadable files "
                     "(listed in benchmark.json)")
    if any(m.get("breakdown") for m in result["models"]):
        from wakeforge.evaluation.benchmark.breakdown import format_breakdowns

        lines.append(format_breakdowns(result))
    f = result["features"]
    lines.append(f"\nfeatures: {f['units_computed']} of {f['units']} units computed "
                 f"({f['feature_seconds']} s), rest from the cache {f['cache_dir']}")
    return "\n".join(lines)
