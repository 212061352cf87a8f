"""After export: score the held-out clips (stage 1's unseen test voices) through the detector's
streaming path, log DET curve / histogram / worst-case audio, and add the numbers to the card."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from wakeforge.export.callback import ExportCallback
from wakeforge.training.callbacks.reporting import ReportingCallback
from wakeforge.utils.atomic import write_json_atomic

log = logging.getLogger(__name__)

#: Extra facts of the evaluation kept in the card beside the figures.
SUMMARY_KEYS = ("n_positive", "n_negative_files", "n_near_miss_files", "negative_hours", "refractory_s")


def _manifest_records(folder: Path) -> list[dict]:
    """Readable records of stage 1's ``manifest.jsonl`` in ``folder`` that name a file."""
    manifest = folder / "manifest.jsonl"
    if not manifest.exists():
        return []
    out = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "file" in rec:
            out.append(rec)
    return out


def positive_groups(folder: Path) -> dict[str, str]:
    """``{wav path: "engine"}`` of stage 1's positive clips (recall per TTS engine; real
    recordings are ``recording``)."""
    return {
        str(folder / rec["file"]): "recording" if rec.get("source") == "real" else str(rec.get("engine", "other"))
        for rec in _manifest_records(folder)
    }


def negative_kinds(folder: Path) -> dict[str, str]:
    """``{wav path: "adversarial" | "general"}`` from stage 1's manifest in ``folder``.

    Near-miss phrases (adversarial and custom negatives) are reported apart from general
    speech: they are chosen to sound like the phrase, so their accept rate measures how finely
    the model separates, while general speech gives the false accepts per hour a user hears.
    """
    return {
        str(folder / rec["file"]): "general" if rec["kind"] == "general" else "adversarial"
        for rec in _manifest_records(folder)
        if rec.get("kind")
    }


class HeldOutEvaluation(ReportingCallback):
    """Runs :func:`wakeforge.evaluation.report.evaluate_model` on ``{work_dir}/positive_test`` and
    ``negative_test`` with the exported ONNX model.

    Args:
        work_dir: the model's work folder (clips live there).
        out_subdir: where metrics.json / det.png / scores_hist.png go, inside the export folder.
        threshold: operating threshold; ``target_fa_per_hour``: the FA/hour the suggested
            threshold must meet; ``refractory_s``: activation dead time; ``workers``: processes
            scoring the clips (0: all cores).
    """

    report_name = "held_out_evaluation"

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
        self.outputs: dict[str, str] = {}
        self.seconds = 0.0

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self.enabled or not trainer.is_global_zero:
            return
        exporter = next((c for c in trainer.callbacks if isinstance(c, ExportCallback)), None)
        if exporter is None or not exporter.result:
            return
        from wakeforge.evaluation.report import FIGURE_KEYS, evaluate_model, figure_scalars, figures_text, log_to_wandb

        missing = [d for d in ("positive_test", "negative_test") if not any((self.work_dir / d).glob("*.wav"))]
        if missing:
            log.warning("held-out evaluation skipped: no clips in %s (training ran on features only)", ", ".join(str(self.work_dir / d) for d in missing))
            return
        onnx_path = Path(exporter.result["onnx"])
        out_dir = onnx_path.parent / self.out_subdir
        t0 = time.perf_counter()
        res = evaluate_model(
            onnx_path,
            [self.work_dir / "positive_test"],
            [self.work_dir / "negative_test"],
            threshold=self.threshold,
            target_fa_per_hour=self.target,
            refractory_s=self.refractory_s,
            out_dir=out_dir,
            negative_groups=negative_kinds(self.work_dir / "negative_test"),
            positive_groups=positive_groups(self.work_dir / "positive_test"),
            workers=self.workers,
        )
        self.seconds = time.perf_counter() - t0
        fig = res["figures"]
        summary: dict[str, Any] = {"kind": "synthetic", **fig}
        summary.update({k: res.get(k) for k in SUMMARY_KEYS if k in res})
        if res.get("by_group"):
            # Counts per group at the recommended threshold; each group's own lowest threshold
            # meeting the target stays in evaluation/metrics.json (the card recommends one).
            summary["by_group"] = {g: {k: v for k, v in vals.items() if k not in ("threshold_at_target", "recall_at_target")}
                                   for g, vals in res["by_group"].items()}
        if res.get("by_positive_group"):
            summary["by_positive_group"] = res["by_positive_group"]
        self.result = summary
        self.outputs = res.get("outputs") or {}
        for lg in trainer.loggers:
            if type(lg).__name__ == "WandbLogger":
                try:
                    log_to_wandb(res, lg, prefix="test")
                except Exception as exc:  # logging must never lose a trained model
                    log.warning("could not log the evaluation to W&B: %s", exc)
            else:
                lg.log_metrics(figure_scalars(res, prefix="test"))
        # The card's figures are these, at the one recommended threshold (validation's
        # training-time figures stay under "validation").
        card_path = Path(exporter.result["card"])
        card = json.loads(card_path.read_text())
        card["recommended_threshold"] = fig["threshold"]
        card["threshold_rule"] = fig["threshold_rule"]
        card["metrics"] = {**{k: fig[k] for k in FIGURE_KEYS}, "source": "held_out_evaluation (synthetic)"}
        card["held_out_evaluation"] = {**summary, "note": "synthetic speech: streaming detector path on positive_test/negative_test (TTS voice settings unseen in training); does not predict real use, see real_recordings", "plots": [f"{self.out_subdir}/det.png", f"{self.out_subdir}/scores_hist.png"]}
        write_json_atomic(card_path, card)
        exporter.result["figures"] = fig
        log.info("figures (held-out synthetic clips, streaming detector): %s", figures_text(fig))
        if fig.get("target_met") is False:
            log.warning("no threshold keeps held-out general speech within %.2f false accepts/hour; "
                        "the card recommends %.3g", self.target, fig["threshold"])


class RealRecordingEvaluation(Callback):
    """After export: benchmark the model on the user's own real recordings, first in the card.

    ``suite`` is a folder laid out like the benchmark suites (``positives/<phrase>/``,
    ``negatives/<set>/``, ``noise/<set>/``; see :mod:`wakeforge.evaluation.benchmark`), recorded by
    the user: their voices, their room, their TV. Synthetic held-out figures do not predict real
    use, so when a suite is given its figures go into the card as ``real_recordings``, ahead of
    the synthetic ``held_out_evaluation``, and are logged first. Measuring only: nothing of the
    suite is used for training or for choosing weights (the callback runs after export).

    Args:
        suite: The folder, or ``None`` (nothing to do).
        cache_dir: Feature cache (streaming features of the suite are computed once).
        threshold, refractory_s, snr_db: Counting settings (``snr_db`` ``None``: no noisy pass).
        workers: Processes for the feature pass (0: all cores).
    """

    def __init__(self, suite: str | None = None, cache_dir: str | None = None,
                 threshold: float = 0.5, refractory_s: float = 1.2,
                 snr_db: float | None = 10.0, workers: int = 0) -> None:
        self.suite = suite
        self.cache_dir = cache_dir
        self.threshold = float(threshold)
        self.refractory_s = float(refractory_s)
        self.snr_db = None if snr_db is None else float(snr_db)
        self.workers = int(workers)
        self.result: dict[str, Any] = {}

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self.suite or not trainer.is_global_zero:
            return
        exporter = next((c for c in trainer.callbacks if isinstance(c, ExportCallback)), None)
        if exporter is None or not exporter.result:
            return
        from wakeforge.evaluation.benchmark import ModelSpec, card_for, format_tables, load_suite, run_benchmark, slug
        from wakeforge.features.assets import default_cache_dir

        onnx_path = Path(exporter.result["onnx"])
        card_path = Path(exporter.result["card"])
        card = card_for(onnx_path) or {}
        suite = load_suite(self.suite)
        phrase = card.get("phrase")
        phrase = phrase[0] if isinstance(phrase, list) and phrase else phrase
        ph = slug(str(phrase)) if phrase else None
        if ph not in suite.positives:
            log.warning("real recordings: %s has no positives/%s/ folder; scoring its negatives only",
                        suite.root, ph)
            ph = None
        thr = card.get("recommended_threshold")
        spec = ModelSpec(onnx_path.stem, onnx_path, ph,
                         card_threshold=float(thr) if isinstance(thr, (int, float)) else None)
        cache = Path(self.cache_dir) if self.cache_dir else default_cache_dir() / "benchmark"
        res = run_benchmark(suite.root, [spec], cache_dir=cache,
                            out_dir=onnx_path.parent / "evaluation" / "real",
                            snr_db=self.snr_db, refractory_s=self.refractory_s,
                            threshold=self.threshold, workers=self.workers, progress=False)
        m = res["models"][0]
        keep = ("n_positive", "recall_at_threshold", "noisy_recall_at_threshold", "snr_db",
                "false_accepts_per_hour_at_threshold", "false_accepts_per_hour_all",
                "negative_hours", "at_target", "at_card_threshold")
        summary = {k: m[k] for k in keep if k in m}
        summary["suite"] = str(suite.root)
        summary["note"] = ("real recordings (streaming detector path, 1 s silence around each "
                           "positive, negatives back to back); measured after training, never "
                           "trained on")
        self.result = summary
        # Real figures first: rebuild the card with them right after the phrase.
        card = json.loads(card_path.read_text())
        ordered: dict[str, Any] = {}
        for k, v in card.items():
            ordered[k] = v
            if k == "phrase":
                ordered["real_recordings"] = summary
        ordered.setdefault("real_recordings", summary)
        write_json_atomic(card_path, ordered)
        for line in format_tables(res).splitlines():
            if line.strip():
                log.info("real recordings: %s", line)
