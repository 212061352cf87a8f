"""The plan line a run prints before any work, and the rates it learns from finished stages.

``plan_run(cfg, stages)`` counts what the stages will make (clips, feature rows, steps) and
estimates each stage's time from per-unit costs: built-in rates measured on a 2-core CPU
(DESIGN.md: Piper ≈ 12 clips/s per core, espeak-ng ≈ 35, Kokoro ≈ 0.7), scaled by what the
previous runs on this machine measured (``{paths.cache_dir}/machine_rates.json``, written by
:func:`record_rates` after each stage). The estimate of a stage is refined when it starts
(the progress display's ETA) and compared with the time it took when it ends.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from wakeforge.core.config import resolve_path

log = logging.getLogger(__name__)

#: Seconds per clip on one core, by TTS engine (DESIGN.md measurements, 2-core CPU).
ENGINE_S_PER_CLIP = {"piper": 1 / 12, "espeak": 1 / 35, "kokoro": 1 / 0.7, "tone": 0.005}
#: Start-up of the TTS worker processes (voices, Kokoro's 92 MB model), seconds.
GENERATE_STARTUP_S = 15.0
#: Feature rows per second of stage 2 (augmentation + features), CPU; and its start-up (banks,
#: feature models) in seconds.
AUGMENT_ROWS_PER_S = {"cpu": 250.0, "cuda": 3000.0}
AUGMENT_STARTUP_S = 20.0
#: Optimizer steps per second of stage 3, CPU / GPU (default dnn head); its start-up in seconds.
TRAIN_STEPS_PER_S = {"cpu": 25.0, "cuda": 60.0}
TRAIN_STARTUP_S = 10.0
#: Export (ONNX + TFLite + parity) seconds, and held-out clips scored per second (one core).
EXPORT_S = 20.0
EVAL_FILES_PER_S = 15.0
RATES_FILE = "machine_rates.json"


@dataclass
class Plan:
    phrase: str
    device: str
    cores: int
    clips: dict[str, int]
    clips_done: int
    rows: dict[str, int]
    steps: int
    disk_bytes: int
    estimate_s: dict[str, float] = field(default_factory=dict)
    measured: dict[str, bool] = field(default_factory=dict)

    def line(self) -> str:
        from wakeforge.utils.console import fmt_duration

        n_clips = sum(self.clips.values())
        pos = self.clips.get("positive_train", 0) + self.clips.get("positive_test", 0)
        parts = [
            f"plan: \"{self.phrase}\"",
            f"{n_clips} clips ({pos} of the phrase, {n_clips - pos} negatives"
            + (f"; {self.clips_done} on disk" if self.clips_done else "") + ")",
            f"{sum(self.rows.values())} feature rows",
            f"{self.steps} training steps",
            f"device {self.device}, {self.cores} cores",
            f"disk ~{_size(self.disk_bytes)}",
        ]
        if self.estimate_s:
            est = ", ".join(f"{k} ~{fmt_duration(v)}" for k, v in self.estimate_s.items())
            src = "rates measured on this machine" if any(self.measured.values()) else "built-in rates of a 2-core CPU"
            parts.append(f"estimated {est} ({src})")
        return "; ".join(parts)


def _size(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def _rates_path(cfg: DictConfig) -> Path:
    return resolve_path(str(cfg.paths.cache_dir)) / RATES_FILE


def _machine_key(device: str) -> str:
    return f"{'cuda' if device.startswith('cuda') else 'cpu'}-{os.cpu_count() or 1}"


def load_rates(cfg: DictConfig, device: str) -> dict[str, float]:
    try:
        data = json.loads(_rates_path(cfg).read_text())
    except (OSError, ValueError):
        return {}
    rates = data.get(_machine_key(device), {})
    return {k: float(v) for k, v in rates.items() if isinstance(v, (int, float)) and v > 0}


def record_rates(cfg: DictConfig, device: str, updates: dict[str, float]) -> None:
    """Remember measured rates of this machine (running mean with the previous value)."""
    updates = {k: float(v) for k, v in updates.items() if v and v > 0}
    if not updates:
        return
    path = _rates_path(cfg)
    try:
        data = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        data = {}
    key = _machine_key(device)
    old = data.get(key, {})
    for k, v in updates.items():
        prev = old.get(k)
        old[k] = round(v if not isinstance(prev, (int, float)) else 0.5 * (prev + v), 6)
    data[key] = old
    try:
        from wakeforge.utils.atomic import write_json_atomic

        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, data)
    except OSError:  # a read-only cache only loses the estimate
        pass


def _weights(node: Any, fallback: dict[str, float], engines: list[str]) -> dict[str, float]:
    w = dict(node) if node else dict(fallback)
    w = {k: float(w.get(k, 1.0)) for k in engines}
    total = sum(w.values())
    return {k: v / total for k, v in w.items()} if total > 0 else {k: 1 / len(engines) for k in engines}


def generate_cost_s(cfg: DictConfig, clips: dict[str, int]) -> float:
    """Built-in estimate of stage 1's CPU seconds (one core) for ``clips`` per split."""
    tts, data = cfg.tts, cfg.data
    engines = [str(e) for e in tts.get("engines", ["piper"])]
    base = _weights(tts.get("engine_weights"), {}, engines)
    pos_w = _weights(tts.get("positive_engine_weights"), base, engines)
    gen_w = _weights(tts.get("general_engine_weights"), base, engines)
    adv = float(data.get("adversarial_fraction", 0.15))

    def cost(w: dict[str, float]) -> float:
        return sum(v * ENGINE_S_PER_CLIP.get(k, 0.1) for k, v in w.items())

    n_pos = clips.get("positive_train", 0) + clips.get("positive_test", 0)
    n_neg = clips.get("negative_train", 0) + clips.get("negative_test", 0)
    return n_pos * cost(pos_w) + n_neg * (adv * cost(base) + (1 - adv) * cost(gen_w))


def _done_clips(work: Path, split: str) -> int:
    manifest = work / split / "manifest.jsonl"
    try:
        return sum(1 for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip())
    except OSError:
        return 0


def plan_run(cfg: DictConfig, stages: list[str]) -> Plan:
    """Count the work of ``stages`` and estimate each stage's time (see the module docstring)."""
    from wakeforge.augment.stage import negative_windows_per_clip
    from wakeforge.pipeline.preflight import planned_bytes
    from wakeforge.core.config import phrases
    from wakeforge.generation.settings import resolve_workers

    data, aug = cfg.data, cfg.augmentation
    work = resolve_path(str(cfg.work_dir))
    clips = {"positive_train": int(data.n_samples), "positive_test": int(data.n_samples_val),
             "negative_train": int(data.n_negative), "negative_test": int(data.n_negative_val)}
    done = {k: min(v, _done_clips(work, k)) for k, v in clips.items()}
    rounds = max(1, int(aug.get("rounds", 1)))
    pos_rounds = rounds * max(1, int(aug.get("positive_rounds", 1)))
    k = negative_windows_per_clip(cfg)
    rows = {"positive": clips["positive_train"] * pos_rounds + clips["positive_test"],
            "negative": (clips["negative_train"] * rounds + clips["negative_test"]) * k,
            "background": int(data.get("n_background", 0)) * rounds}
    steps = int(cfg.trainer.get("max_steps", 0) or 0)
    device = _device(cfg)
    cores = os.cpu_count() or 1
    measured = load_rates(cfg, device)
    est: dict[str, float] = {}
    used: dict[str, bool] = {}
    if "generate" in stages:
        todo = {s: clips[s] - done[s] for s in clips}
        workers = max(1, resolve_workers(int(cfg.get("num_workers", 0) or 0)))
        base = generate_cost_s(cfg, todo) / workers + (GENERATE_STARTUP_S if sum(todo.values()) else 0.0)
        est["generate"] = base * measured.get("generate_factor", 1.0)
        used["generate"] = "generate_factor" in measured
    dev = "cuda" if device.startswith("cuda") else "cpu"
    if "augment" in stages:
        est["augment"] = (measured.get("augment_startup_s", AUGMENT_STARTUP_S)
                          + sum(rows.values()) / measured.get("augment_rows_per_s", AUGMENT_ROWS_PER_S[dev]))
        used["augment"] = "augment_rows_per_s" in measured
    if "train" in stages:
        eval_files = clips["positive_test"] + clips["negative_test"]
        est["train"] = (measured.get("train_startup_s", TRAIN_STARTUP_S)
                        + steps / measured.get("train_steps_per_s", TRAIN_STEPS_PER_S[dev])
                        + measured.get("export_s", EXPORT_S)
                        + eval_files / measured.get("eval_files_per_s", EVAL_FILES_PER_S))
        used["train"] = "train_steps_per_s" in measured
    ph = phrases(cfg)
    return Plan(phrase=" / ".join(ph), device=device, cores=cores, clips=clips,
                clips_done=sum(done.values()), rows=rows, steps=steps,
                disk_bytes=int(planned_bytes(cfg, stages)["total"]), estimate_s=est, measured=used)


def _device(cfg: DictConfig) -> str:
    try:
        import torch

        if str(cfg.get("device", "auto")) != "cpu" and torch.cuda.is_available():
            return f"cuda ({torch.cuda.get_device_name(0)})"
    except Exception:  # pragma: no cover - torch is a requirement
        pass
    return "cpu"


def learn_from_stage(cfg: DictConfig, plan: Plan, stage: str, seconds: float, result: Any) -> None:
    """After a stage: store its measured rate (so the next plan on this machine is closer)."""
    updates: dict[str, float] = {}
    if stage == "generate":
        generated = int(getattr(result, "generated", 0) or 0)
        elapsed = float(getattr(result, "elapsed_s", seconds) or seconds)
        if generated >= 20:
            from wakeforge.generation.settings import resolve_workers

            workers = max(1, int(getattr(result, "workers", 0) or resolve_workers(int(cfg.get("num_workers", 0) or 0))))
            # Only the clips made this run: the plan's cost of them.
            share = generated / max(1, sum(plan.clips.values()) - plan.clips_done)
            base = generate_cost_s(cfg, plan.clips) * share / workers + GENERATE_STARTUP_S
            updates["generate_factor"] = elapsed / max(base, 1e-6)
    elif stage == "augment":
        from wakeforge.augment.stage import LAST_RUN

        if LAST_RUN.get("made", 0) >= 100:
            updates["augment_rows_per_s"] = LAST_RUN["made"] / max(LAST_RUN["seconds"], 1e-6)
            updates["augment_startup_s"] = max(0.1, seconds - LAST_RUN["seconds"])
    elif stage == "train" and isinstance(result, dict):
        t = result.get("train_parts_s") or {}
        fit_only = float(result.get("fit_s", 0.0)) - float(t.get("export", 0.0)) - float(t.get("evaluation", 0.0))
        steps_run = int(result.get("steps", 0)) - int(result.get("start_step", 0))
        if steps_run >= 50 and fit_only > 0:
            updates["train_steps_per_s"] = steps_run / fit_only
            updates["train_startup_s"] = max(0.1, seconds - float(result.get("fit_s", 0.0)))
        if t.get("export"):
            updates["export_s"] = float(t["export"])
        eval_files = plan.clips.get("positive_test", 0) + plan.clips.get("negative_test", 0)
        if t.get("evaluation") and eval_files:
            updates["eval_files_per_s"] = eval_files / float(t["evaluation"])
    record_rates(cfg, plan.device, updates)
