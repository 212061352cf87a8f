"""The stage runner behind ``python -m wakeforge.train``: generate -> augment -> train.

Before any work it logs the plan (counts, device, estimated time per stage, disk); each stage
gets one start and one end line; the run ends with a summary block: the model files, the
figures at the recommended threshold, each stage's time and the next commands.
"""

from __future__ import annotations

import glob
import logging
import shlex
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from wakeforge.pipeline.preflight import check_config

log = logging.getLogger(__name__)

STAGES = ("generate", "augment", "train")

#: First line of the summary block (tests look for it).
SUMMARY_TITLE = "summary"


def run_pipeline(cfg: DictConfig) -> dict[str, Any]:
    """Run the configured stages in order and return the training result."""
    from wakeforge.utils.console import fmt_duration, setup_console

    setup_console()
    t_run = time.perf_counter()
    check_config(cfg)  # keys, types, phrase, paths, voices, disk, accelerator: before any work
    stages = [str(s) for s in cfg.get("stages", STAGES)]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        from wakeforge.core.errors import ConfigError

        raise ConfigError(f"unknown stage(s) {unknown} in stages; choose from {list(STAGES)}")
    from wakeforge.pipeline.plan import learn_from_stage, plan_run

    plan = plan_run(cfg, stages)
    log.info("%s", plan.line())
    timings: dict[str, float] = {}
    result: dict[str, Any] = {}
    todo = [s for s in STAGES if s in stages]
    for i, stage in enumerate(todo, 1):
        est = plan.estimate_s.get(stage)
        log.info("[%d/%d] %s: %s%s", i, len(todo), stage, _what(stage, plan),
                 f" (estimated {fmt_duration(est)})" if est else "")
        t0 = time.perf_counter()
        out: Any = None
        if stage == "generate":
            from wakeforge.generation.run import run_generate

            out = run_generate(cfg)
        elif stage == "augment":
            from wakeforge.augment.stage import run_augment

            out = run_augment(cfg)
        else:
            from wakeforge.training.run import run_training

            result = run_training(cfg)
            out = result
        timings[stage] = time.perf_counter() - t0
        log.info("[%d/%d] %s finished in %s", i, len(todo), stage, fmt_duration(timings[stage]))
        learn_from_stage(cfg, plan, stage, timings[stage], out)
    result["timings_s"] = timings
    if "train" in todo:
        try:
            from wakeforge.evaluation.html_report import write_run_report

            report = write_run_report(result)
            if report is not None:
                result["report"] = str(report)
        except Exception as exc:  # the report must never lose a trained model
            log.warning("could not write report.html: %s", exc)
    for line in summary_lines(cfg, result, time.perf_counter() - t_run):
        log.info("%s", line)
    return result


def _what(stage: str, plan: Any) -> str:
    if stage == "generate":
        left = sum(plan.clips.values()) - plan.clips_done
        if not plan.clips_done:
            return f"{left} clips to synthesise"
        # The plan counts clips on disk; whether each still matches its settings (fingerprint)
        # is checked by stage 1 itself, which then logs how many it (re)makes.
        return (f"{plan.clips_done} clips on disk (checked against their settings now), "
                f"{left} more to synthesise")
    if stage == "augment":
        return f"{sum(plan.rows.values())} feature rows (" + ", ".join(f"{k} {v}" for k, v in plan.rows.items()) + ")"
    return f"{plan.steps} steps, then export and held-out evaluation"


def _wandb_runs(cfg: DictConfig) -> list[str]:
    try:
        save_dir = cfg.logger.wandb.save_dir
    except Exception:
        return []
    return sorted(glob.glob(str(Path(str(save_dir)) / "wandb" / "offline-run-*")))


def summary_lines(cfg: DictConfig, result: dict[str, Any], total_s: float) -> list[str]:
    """The summary block: files, figures at the recommended threshold, times, next commands."""
    from wakeforge.evaluation.report import figures_text
    from wakeforge.utils.console import fmt_duration

    rule = "-" * 78
    lines = [rule, f"{SUMMARY_TITLE}: {cfg.model_name} in {fmt_duration(total_s)}"]
    onnx = result.get("onnx")
    if onnx:
        lines.append(f"  model    {onnx}")
        if result.get("tflite"):
            lines.append(f"           {result['tflite']}")
        if result.get("card"):
            lines.append(f"  card     {result['card']}")
        if result.get("report"):
            lines.append(f"  report   {result['report']}  (open in a browser)")
    fig = result.get("figures")
    if fig:
        lines.append(f"  figures  held-out synthetic clips through the streaming detector at the recommended threshold:")
        for part in figures_text(fig).split("; "):
            lines.append(f"           {part}")
        lines.append(f"           (threshold rule: {fig['threshold_rule']})")
    elif onnx:
        lines.append("  figures  none: the held-out evaluation did not run (see the warnings above)")
    st = result.get("timings_s") or {}
    if st:
        parts = [f"{k} {fmt_duration(v)}" for k, v in st.items()]
        sub = result.get("train_parts_s") or {}
        extra = [f"{k} {fmt_duration(v)}" for k, v in sub.items()]
        lines.append("  time     " + ", ".join(parts) + (f" (train includes {', '.join(extra)})" if extra and "train" in st else ""))
    if onnx:
        q = shlex.quote
        lines.append(f"  next     python -m wakeforge.detect --model {q(str(onnx))} --mic")
        lines.append(f"           python -m wakeforge.evaluate --model {q(str(onnx))} --positive MY_RECORDINGS/ "
                     f"--negative MY_HOUR.wav --out eval/{cfg.model_name}")
        for run in _wandb_runs(cfg)[-1:]:
            lines.append(f"           wandb sync {q(run)}")
    lines.append(rule)
    return lines
