"""``report.html``: one self-contained page about a model and its evaluation.

Everything is embedded (plots as base64 PNG, audio as base64 WAV), so the file opens in any
browser, offline, and can be mailed around. Sections: the model card's facts, the figures at
the recommended threshold, the DET curve and score histogram, a table per group (general
speech, near-miss phrases, positives by TTS engine), the worst false accepts and misses as
playable audio, and the training curves.

Written at the end of ``python -m wakeforge.train`` into the model folder, and by
``python -m wakeforge.evaluate ... --out DIR`` into ``DIR`` for any model and recordings. It is
built from what those runs write to disk (``metrics.json``, ``det.png``, ``scores_hist.png``,
the model card), so the page shows exactly the numbers of those files.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

REPORT_NAME = "report.html"

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f5f5f5} .num{text-align:right;font-variant-numeric:tabular-nums} .note{color:#666;font-size:.9em}
img.plot{max-width:100%;border:1px solid #eee;margin:.3em 0} .fig{font-size:1.1em;background:#f7f9fc;padding:.6em 1em;border-left:4px solid #4a7bd0}
audio{height:2em;vertical-align:middle}
"""


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _fmt(v: Any, spec: str = ".3f") -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int,)) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return format(v, spec)
    return _esc(v)


def _png_tag(path: Path | None, alt: str, png: bytes | None = None) -> str:
    if png is None:
        if path is None or not Path(path).is_file():
            return f'<p class="note">({_esc(alt)}: not available)</p>'
        png = Path(path).read_bytes()
    b64 = base64.b64encode(png).decode("ascii")
    return f'<img class="plot" alt="{_esc(alt)}" src="data:image/png;base64,{b64}">'


def _audio_tag(item: dict[str, Any]) -> str:
    """An ``<audio>`` element with the item's span (``start_s``..``end_s``) embedded as WAV."""
    import soundfile as sf

    from wakeforge.audio.constants import SAMPLE_RATE_HZ
    from wakeforge.audio.io import load_audio

    try:
        audio = load_audio(item["path"], allow_silent=True)
    except Exception as exc:  # an unreadable file is named, not fatal
        return f'<span class="note">cannot read: {_esc(exc)}</span>'
    a = int(float(item.get("start_s", 0.0)) * SAMPLE_RATE_HZ)
    b = max(a + 1, int(float(item.get("end_s", len(audio) / SAMPLE_RATE_HZ)) * SAMPLE_RATE_HZ))
    buf = io.BytesIO()
    sf.write(buf, audio[a:b], SAMPLE_RATE_HZ, format="WAV", subtype="PCM_16")
    b64 = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<audio controls preload="auto" src="data:audio/wav;base64,{b64}"></audio>'


def _curves_png(history: list[dict[str, Any]]) -> bytes | None:
    """Validation curves (recall, FA/hour, selection score vs step) as PNG bytes."""
    rows = [r for r in history if "step" in r]
    if not rows:
        return None
    from wakeforge.evaluation.det import _pyplot

    plt = _pyplot()
    steps = [r["step"] for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
    for key, label in (("val/recall", "recall"), ("val/accuracy", "balanced accuracy"), ("val/selection", "selection score")):
        if any(key in r for r in rows):
            ax[0].plot(steps, [r.get(key, float("nan")) for r in rows], "o-", label=label)
    ax[0].set_xlabel("step")
    ax[0].set_title("validation (feature windows)")
    ax[0].grid(True, alpha=0.3)
    ax[0].legend(fontsize=8)
    if any("val/fp_per_hour" in r for r in rows):
        ax[1].plot(steps, [r.get("val/fp_per_hour", float("nan")) for r in rows], "o-", color="C3")
        ax[1].set_yscale("symlog", linthresh=1.0)
    ax[1].set_xlabel("step")
    ax[1].set_title("validation false accepts per hour (training signal)")
    ax[1].grid(True, alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _figures_html(fig: dict[str, Any]) -> str:
    from wakeforge.evaluation.report import figures_text

    rows = [
        ("recommended threshold", _fmt(fig.get("threshold"), ".4g")),
        ("rule", _esc(fig.get("threshold_rule", ""))),
        ("recall", f'<span id="fig-recall">{_fmt(fig.get("recall"))}</span> '
                   f'({fig.get("positives_detected")} of {fig.get("n_positive")} positives)'),
        ("false accepts per hour", f'<span id="fig-fa-per-hour">{_fmt(fig.get("false_accepts_per_hour"), ".2f")}</span> '
                                   f'({fig.get("false_accepts")} in {_fmt(fig.get("hours"), ".3g")} h of {_esc(fig.get("hours_of", ""))})'),
        ("near-miss phrases", f'accepted {fig.get("near_miss_accepted")} of {fig.get("near_miss_clips")} clips'),
        ("target met", _fmt(fig.get("target_met"))),
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    thr = fig.get("threshold")
    return (f'<p class="fig" id="figures" data-threshold="{thr}" data-recall="{fig.get("recall")}" '
            f'data-fa-per-hour="{fig.get("false_accepts_per_hour")}">{_esc(figures_text(fig))}</p>'
            f"<table>{body}</table>")


def _groups_html(metrics: dict[str, Any]) -> str:
    out = []
    by = metrics.get("by_group") or {}
    if by:
        head = "<tr><th>negatives</th><th>kind</th><th>clips</th><th>audio</th><th>accepted</th><th>false accepts per hour</th></tr>"
        rows = []
        for name, g in by.items():
            label = "near-miss phrases" if g.get("kind") == "near-miss clips" else ("general speech" if name == "general" else name)
            per_h = "— (clips, not hours)" if g.get("kind") == "near-miss clips" else _fmt(g.get("false_accepts_per_hour"), ".2f")
            rows.append(f"<tr><td>{_esc(label)}</td><td>{_esc(g.get('kind', ''))}</td><td class='num'>{g.get('files')}</td>"
                        f"<td class='num'>{_fmt(g.get('hours', 0.0) * 3600, '.0f')} s</td>"
                        f"<td class='num'>{g.get('files_accepted')} of {g.get('files')}</td><td class='num'>{per_h}</td></tr>")
        out.append(f"<table>{head}{''.join(rows)}</table>")
    pos = metrics.get("by_positive_group") or {}
    if pos:
        head = "<tr><th>positives by engine</th><th>clips</th><th>detected</th><th>recall</th></tr>"
        rows = [f"<tr><td>{_esc(k)}</td><td class='num'>{v['files']}</td><td class='num'>{v['detected']}</td>"
                f"<td class='num'>{_fmt(v['recall'])}</td></tr>" for k, v in pos.items()]
        out.append(f"<table>{head}{''.join(rows)}</table>")
    if not out:
        n = metrics.get("n_negative_files", 0)
        out.append(f'<p class="note">No groups: {metrics.get("n_positive", 0)} positive and {n} negative files, all counted together.</p>')
    return "".join(out)


def _worst_html(items: list[dict[str, Any]], kind: str, threshold: float | None) -> str:
    if not items:
        return f'<p class="note">no {kind}</p>'
    head = "<tr><th>file</th><th>group</th><th>score</th><th>at</th><th>listen</th></tr>"
    rows = []
    for it in items:
        flag = ""
        if threshold is not None:
            hit = it["score"] >= threshold
            flag = (" (accepted)" if hit else " (below threshold)") if kind == "false accepts" else (" (missed)" if not hit else " (detected)")
        rows.append(f"<tr><td>{_esc(Path(it['path']).name)}</td><td>{_esc(it.get('group', ''))}</td>"
                    f"<td class='num'>{it['score']:.3f}{flag}</td><td class='num'>{it['time_s']:.2f} s</td>"
                    f"<td>{_audio_tag(it)}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _card_html(card: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    for k in ("model_name", "phrase", "created", "wakeforge_version", "checkpoint"):
        if k in card:
            rows.append((k, _esc(card[k])))
    for name, f in (card.get("files") or {}).items():
        rows.append((f"file ({name})", f"{_esc(f.get('path'))} <span class='note'>sha256 {_esc(str(f.get('sha256'))[:16])}…</span>"))
    par = card.get("parity_max_abs_diff") or {}
    if par:
        rows.append(("export parity (max abs diff)", ", ".join(f"{k} {v:.1e}" for k, v in par.items() if k != "n_inputs")))
    cfg = card.get("config") or {}
    model = cfg.get("model") or {}
    head = model.get("head") or {}
    if model:
        rows.append(("head", _esc(f"{head.get('_target_', '?').rsplit('.', 1)[-1]} layer {head.get('layer_size', '?')}, "
                                  f"{head.get('n_members', 1)} member(s); {cfg.get('trainer', {}).get('max_steps', '?')} steps")))
    real = card.get("real_recordings")
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    out = f"<table>{body}</table>"
    if real:
        out = ("<p><b>Real recordings</b> (first in the card): recall at threshold "
               f"{_fmt(real.get('recall_at_threshold'))}, false accepts per hour "
               f"{_fmt(real.get('false_accepts_per_hour_at_threshold'), '.2f')} over "
               f"{_fmt(real.get('negative_hours'), '.3g')} h ({_esc(real.get('suite', ''))})</p>") + out
    return out


def build_report(metrics: dict[str, Any], eval_dir: Path, card: dict[str, Any] | None = None,
                 title: str | None = None) -> str:
    """The HTML text of a report (see the module docstring)."""
    card = card or {}
    name = title or card.get("model_name") or metrics.get("model_name", "model")
    fig = metrics.get("figures") or {}
    thr = fig.get("threshold")
    kind = (card.get("held_out_evaluation") or {}).get("kind")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_esc(name)}: wakeforge report</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(name)}</h1>",
        f"<p class='note'>{_esc(metrics.get('model', ''))} ({_esc(metrics.get('framework', ''))}); "
        f"{metrics.get('n_positive', 0)} positive and {metrics.get('n_negative_files', 0)} negative files scored through "
        "the streaming detector (80 ms chunks)"
        + ("; <b>synthetic</b> held-out clips: these figures do not predict real use" if kind == "synthetic" else "")
        + "</p>",
        "<h2>Figures at the recommended threshold</h2>",
        _figures_html(fig) if fig else "<p class='note'>no figures</p>",
    ]
    if card:
        parts += ["<h2>Model card</h2>", _card_html(card)]
    parts += [
        "<h2>DET curve</h2>", _png_tag(eval_dir / "det.png", "DET curve"),
        "<h2>Scores</h2>", _png_tag(eval_dir / "scores_hist.png", "score histogram"),
        "<h2>By group</h2>", _groups_html(metrics),
        "<h2>Worst false accepts</h2>", _worst_html(metrics.get("worst_false_accepts") or [], "false accepts", thr),
        "<h2>Worst misses</h2>", _worst_html(metrics.get("worst_misses") or [], "misses", thr),
    ]
    curves = _curves_png(card.get("validation_history") or [])
    if curves is not None:
        parts += ["<h2>Training curves</h2>", _png_tag(None, "training curves", curves),
                  "<p class='note'>Validation scores stage 2's feature windows (one per positive clip); it "
                  "picks checkpoints. The figures above are the model's.</p>"]
    if metrics.get("skipped_files"):
        parts.append(f"<p class='note'>{len(metrics['skipped_files'])} unreadable files skipped (see metrics.json)</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(eval_dir: str | os.PathLike[str], out_path: str | os.PathLike[str] | None = None,
                 card: dict[str, Any] | None = None) -> Path:
    """Write ``report.html`` from an evaluation folder (its ``metrics.json`` and PNGs)."""
    from wakeforge.utils.atomic import atomic_path

    eval_dir = Path(eval_dir)
    metrics = json.loads((eval_dir / "metrics.json").read_text())
    out = Path(out_path) if out_path else eval_dir / REPORT_NAME
    text = build_report(metrics, eval_dir, card)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return out


def write_run_report(result: dict[str, Any]) -> Path | None:
    """After training: ``report.html`` beside the model files (None without an evaluation)."""
    ev = (result.get("evaluation") or {}).get("metrics")
    card_path = result.get("card")
    if not ev or not card_path:
        return None
    card = json.loads(Path(card_path).read_text())
    return write_report(Path(ev).parent, Path(card_path).parent / REPORT_NAME, card)
