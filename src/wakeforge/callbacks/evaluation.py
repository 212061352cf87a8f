"""After export: score the held-out clips (stage 1's unseen test voices) through the detector's
streaming path, log DET curve / histogram / worst-case audio, and add the numbers to the card."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from wakeforge.callbacks.export import ExportCallback
from wakeforge.utils.atomic import write_json_atomic

log = logging.getLogger(__name__)

SUMMARY_KEYS = (
    "recall", "false_accepts", "false_accepts_per_hour", "frame_false_positives_per_hour",
    "threshold_at_target", "recall_at_target", "negative_hours", "n_positive", "n_negative_files",
)


def negative_kinds(folder: Path) -> dict[str, str]:
    """``{wav path: "adversarial" | "general"}`` from stage 1's manifest in ``folder``.

    Near-miss phrases (adversarial and custom negatives) are reported apart from general
    speech: they are chosen to sound like the phrase, so their accept rate measures how finely
    the model separates, while general speech gives the false accepts per hour a user hears.
    """
    out: dict[str, str] = {}
    manifest = folder / "manifest.jsonl"
    if not manifest.exists():
        return out
    for line in manifest.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        kind = str(rec.get("kind", ""))
        if "file" in rec and kind:
            out[str(folder / rec["file"])] = "general" if kind == "general" else "adversarial"
    return out


class HeldOutEvaluation(Callback):
    """Runs :func:`wakeforge.eval.report.evaluate_model` on ``{work_dir}/positive_test`` and
    ``negative_test`` with the exported ONNX model.

    Args:
        work_dir: the model's work folder (clips live there).
        out_subdir: where metrics.json / det.png / scores_hist.png go, inside the export folder.
        threshold: operating threshold; ``target_fa_per_hour``: the FA/hour the suggested
            threshold must meet; ``refractory_s``: activation dead time; ``workers``: processes
            scoring the clips (0: all cores).
    """

    def __init__(
        self,
        work_dir: str,
        out_subdir: str = "evaluation",
        threshold: float = 0.5,
        target_fa_per_hour: float = 0.5,
        refractory_s: float = 2.0,
        enabled: bool = True,
        workers: int = 0,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.out_subdir = out_subdir
        self.threshold = threshold
        self.target = target_fa_per_hour
        self.refractory_s = refractory_s
        self.enabled = enabled
        self.workers = workers
        self.result: dict[str, Any] = {}

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self.enabled or not trainer.is_global_zero:
            return
        exporter = next((c for c in trainer.callbacks if isinstance(c, ExportCallback)), None)
        if exporter is None or not exporter.result:
            return
        from wakeforge.eval.report import evaluate_model, log_to_wandb

        missing = [d for d in ("positive_test", "negative_test") if not any((self.work_dir / d).glob("*.wav"))]
        if missing:
            log.warning("held-out evaluation skipped: no clips in %s (training ran on features only)", ", ".join(str(self.work_dir / d) for d in missing))
            return
        onnx_path = Path(exporter.result["onnx"])
        out_dir = onnx_path.parent / self.out_subdir
        res = evaluate_model(
            onnx_path,
            [self.work_dir / "positive_test"],
            [self.work_dir / "negative_test"],
            threshold=self.threshold,
            target_fa_per_hour=self.target,
            refractory_s=self.refractory_s,
            out_dir=out_dir,
            negative_groups=negative_kinds(self.work_dir / "negative_test"),
            workers=self.workers,
        )
        summary = {k: res.get(k) for k in SUMMARY_KEYS if k in res}
        if res.get("by_group"):
            summary["by_group"] = res["by_group"]
        self.result = summary
        for lg in trainer.loggers:
            if type(lg).__name__ == "WandbLogger":
                try:
                    log_to_wandb(res, lg, prefix="test")
                except Exception as exc:  # logging must never lose a trained model
                    log.warning("could not log the evaluation to W&B: %s", exc)
            else:
                flat = {f"test/{k}": float(v) for k, v in summary.items() if isinstance(v, (int, float))}
                for g, vals in (summary.get("by_group") or {}).items():
                    flat.update({f"test/{g}/{k}": float(v) for k, v in vals.items() if isinstance(v, (int, float))})
                lg.log_metrics(flat)
        card_path = Path(exporter.result["card"])
        card = json.loads(card_path.read_text())
        card["held_out_evaluation"] = {**summary, "note": "streaming detector path on positive_test/negative_test (unseen voices)", "plots": [f"{self.out_subdir}/det.png", f"{self.out_subdir}/scores_hist.png"]}
        write_json_atomic(card_path, card)
        def fmt(v: Any, spec: str = ".3f") -> str:
            return format(v, spec) if isinstance(v, (int, float)) else "n/a"

        log.info(
            "held-out (streaming): recall %s at %.2f, %s false accepts/hour over %s h; threshold for %.2f FA/h: %s",
            fmt(summary.get("recall")), self.threshold, fmt(summary.get("false_accepts_per_hour"), ".2f"),
            fmt(summary.get("negative_hours")), self.target, fmt(summary.get("threshold_at_target")),
        )
        for g, vals in (summary.get("by_group") or {}).items():
            log.info(
                "held-out %s negatives: %d of %d clips accepted at %.2f (%s FA/h over %s h); recall %s at the threshold (%s) that keeps them within %.2f FA/h",
                g, vals["files_accepted"], vals["files"], self.threshold, fmt(vals.get("false_accepts_per_hour"), ".1f"),
                fmt(vals.get("hours")), fmt(vals.get("recall_at_target")), fmt(vals.get("threshold_at_target")), self.target,
            )
