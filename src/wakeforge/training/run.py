"""Stage 3: fit the head with Lightning, resume from the last checkpoint, export the best one."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from wakeforge.core.config import phrases, resolve_path
from wakeforge.core.errors import WakeforgeError

log = logging.getLogger(__name__)

#: Config sections that define what a checkpoint means; a change starts a fresh run.
FEATURE_AUGMENT_OFF = {"mixup_alpha": 0.0, "p_frame_mask": 0.0, "frame_mask_max": 4, "feature_noise": 0.0,
                       "p_dim_mask": 0.0, "dim_mask_max": 8, "frame_mask_rows": "all"}
RUN_KEYS = ("model", "data.batch_n_per_class", "data.feature_data_files", "data.stream", "seed", "trainer.max_steps")


def run_fingerprint(cfg: DictConfig) -> str:
    parts = {k: OmegaConf.to_container(OmegaConf.select(cfg, k), resolve=True) if OmegaConf.is_config(OmegaConf.select(cfg, k)) else OmegaConf.select(cfg, k) for k in RUN_KEYS}
    model = parts.get("model")
    if isinstance(model, dict):
        # Feature-level augmentation keys came later: while off, a run made before them resumes.
        for key, off in FEATURE_AUGMENT_OFF.items():
            if key in model and model[key] == off:
                model.pop(key)
        head = model.get("head")
        if isinstance(head, dict) and head.get("dropout", 0.0) in (0, 0.0, None):
            head.pop("dropout", None)  # the same for the head's dropout (added later)
    # New features (stage 2 reran) start a new run instead of resuming a model of the old data.
    from wakeforge.core.layout import features_dir

    manifest = features_dir(resolve_path(cfg.work_dir)) / "manifest.json"
    parts["features"] = manifest.read_text() if manifest.exists() else None
    text = json.dumps(parts, sort_keys=True, default=str)
    # The heads' module moved (wakeforge.models -> wakeforge.training.models); hash the old name
    # so a run trained before the move still resumes from its checkpoints.
    text = text.replace('"wakeforge.training.models.', '"wakeforge.models.')
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _is_multirun() -> bool:
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    except Exception:
        return False


def _hydra_output_dir() -> Path:
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except Exception:
        return Path.cwd()


def build_datamodule(cfg: DictConfig) -> Any:
    data = cfg.data
    fdf = {k: str(resolve_path(v)) for k, v in (data.get("feature_data_files") or {}).items()}
    fp = data.get("false_positive_validation_data_path")
    if data.get("stream"):
        from wakeforge.training.data.streaming import StreamingDataModule

        return StreamingDataModule.from_config(cfg)
    from wakeforge.training.data.datamodule import WakeWordDataModule

    return WakeWordDataModule(
        work_dir=resolve_path(cfg.work_dir),
        batch_n_per_class=dict(data.batch_n_per_class),
        feature_data_files=fdf,
        false_positive_validation_data_path=str(resolve_path(fp)) if fp else None,
        penalty_weights=dict(data.get("penalty_weights") or {}),
        seed=int(cfg.seed),
        num_workers=int(data.get("loader_workers", 0)),
    )


def run_training(cfg: DictConfig) -> dict[str, Any]:
    """Train, export and return ``{"selection", "figures", "validation", "onnx", "tflite", ...}``."""
    import hydra
    import lightning.pytorch as pl
    import torch

    from wakeforge.training.callbacks.reporting import reporters
    from wakeforge.utils.console import setup_console

    setup_console()  # after importing Lightning: its handlers go, its warnings are filtered
    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    work_dir = resolve_path(cfg.work_dir)
    fingerprint = run_fingerprint(cfg)
    ckpt_dir = work_dir / "checkpoints" / fingerprint
    export_dir = _hydra_output_dir() if _is_multirun() else work_dir

    datamodule = build_datamodule(cfg)
    from wakeforge.augment.stage import negative_windows_per_clip

    from hydra.errors import InstantiationException

    from wakeforge.core.errors import WakeforgeError

    try:
        model = hydra.utils.instantiate(
            cfg.model,
            clip_duration_s=float(cfg.data.clip_duration_s),
            negative_windows_per_clip=negative_windows_per_clip(cfg),
            _convert_="partial",
        )
    except InstantiationException as exc:
        # A bad value in model.* (e.g. model.head.dropout=2) is the user's mistake: show our one
        # line, not Hydra's wrapper around it.
        cause = exc.__cause__
        while cause is not None and not isinstance(cause, WakeforgeError):
            cause = cause.__cause__
        if cause is not None:
            raise cause from None
        raise

    callbacks: list[Any] = []
    for name, cb_cfg in (cfg.get("callbacks") or {}).items():
        if cb_cfg is None or "_target_" not in cb_cfg:
            continue
        if name == "model_checkpoint":
            # last.ckpt is ResumeCheckpoint's (after every validation, atomic), not Lightning's.
            cb = hydra.utils.instantiate(cb_cfg, dirpath=str(ckpt_dir), save_last=False)
        elif name == "export":
            cb = hydra.utils.instantiate(cb_cfg, output_dir=str(export_dir))
        else:
            cb = hydra.utils.instantiate(cb_cfg)
        if getattr(cb, "report_name", "") == "export":  # the card records the run's config
            cb.config = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
            cb.config.pop("hydra", None)  # type: ignore[union-attr]
            cb.phrase = phrases(cfg) if len(phrases(cfg)) > 1 else phrases(cfg)[0]
        callbacks.append(cb)
    from wakeforge.training.callbacks.resume import ResumeCheckpoint

    callbacks.append(ResumeCheckpoint(ckpt_dir))  # after model_checkpoint: Lightning runs it later

    loggers = []
    for _name, lg_cfg in (cfg.get("logger") or {}).items():
        if lg_cfg is not None and "_target_" in lg_cfg:
            lg = hydra.utils.instantiate(lg_cfg)
            _quiet_wandb_init(lg)
            loggers.append(lg)
    if not loggers:
        # LearningRateMonitor only writes to loggers and refuses to start without one
        # (logger=none); the learning rate is still in the checkpoints.
        from lightning.pytorch.callbacks import LearningRateMonitor

        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]

    from wakeforge.core.device import apply_accelerator_fallback

    apply_accelerator_fallback(cfg)  # a no-op when check_config already ran (the pipeline)
    if cfg.trainer.get("enable_progress_bar", True):
        from wakeforge.training.callbacks.progress import StepProgressBar

        callbacks.append(StepProgressBar())  # steps of max_steps, not Lightning's epochs
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)

    ckpt_path = _resume_path(cfg, ckpt_dir / "last.ckpt")
    start_step = 0
    if ckpt_path:
        from wakeforge.training.callbacks.resume import readable_step

        start_step = int(readable_step(Path(ckpt_path)) or 0)
    last = ckpt_dir / "last.ckpt"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    try:
        # weights_only: a checkpoint is tensors and plain types (readable_step refused others).
        t_fit = time.perf_counter()
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        fit_s = time.perf_counter() - t_fit
    except Exception as exc:  # reliability: out of memory -> one line naming the knobs
        _raise_if_out_of_memory(cfg, exc, last)
        raise

    # Export and the held-out evaluation are later stages: found by report name, not imported.
    reports = reporters(callbacks)
    exporter = reports.get("export")
    out: dict[str, Any] = {"checkpoint_dir": str(ckpt_dir), "steps": int(trainer.global_step), "fit_s": fit_s,
                           "start_step": start_step}
    if exporter is not None and exporter.result:
        res = exporter.result
        out.update({"onnx": str(res["onnx"]), "tflite": str(res["tflite"]) if res["tflite"] else None,
                    "card": str(res["card"]), "validation": res["validation"],
                    # "metrics" is validation's (kept for callers); the model's figures, from
                    # the held-out streaming evaluation, are "figures" (None when it did not run).
                    "metrics": res["validation"], "figures": res.get("figures")})
        out["selection"] = float(res["validation"].get("selection", float("nan")))
        out["train_parts_s"] = {k: v for k, v in (("export", res.get("seconds")),) if v is not None}
        held = reports.get("held_out_evaluation")
        if held is not None and held.outputs:
            out["evaluation"] = held.outputs
            out["train_parts_s"]["evaluation"] = held.seconds
    else:
        sel = trainer.callback_metrics.get("val/selection")
        out["selection"] = float(sel) if sel is not None else None
    for lg in loggers:
        fin = getattr(lg, "finalize", None)
        if fin:
            fin("success")
    try:
        import wandb

        if wandb.run is not None:
            wandb.finish()
    except Exception:  # wandb optional at run time
        pass
    if not out.get("onnx") and exporter is not None and trainer.is_global_zero:
        raise WakeforgeError("training finished but no model was exported; check the log above")
    return out


def _quiet_wandb_init(lg: Any) -> None:
    """Lightning's WandbLogger always passes ``anonymous=None`` (W&B warns that the setting has
    no effect) and ``resume="allow"`` (ignored, with a warning, offline): leave out what W&B
    would ignore anyway."""
    init = getattr(lg, "_wandb_init", None)
    if type(lg).__name__ != "WandbLogger" or not isinstance(init, dict):
        return
    if init.get("anonymous") is None:
        init.pop("anonymous", None)
    mode = str(init.get("mode") or os.environ.get("WANDB_MODE", "")).lower()
    if mode in ("offline", "disabled") and not init.get("id"):
        init.pop("resume", None)


def _raise_if_out_of_memory(cfg: DictConfig, exc: BaseException, last_ckpt: Path) -> None:
    """Turn a CUDA/host out-of-memory error in ``trainer.fit`` into one line naming the knobs.

    Not retried automatically: a smaller batch is another training run (``batch_n_per_class``
    and ``model`` are part of the checkpoint fingerprint).
    """
    from wakeforge.core.errors import OutOfMemory, is_out_of_memory

    if not is_out_of_memory(exc):
        return
    kind = "CUDA" if type(exc).__name__ == "OutOfMemoryError" else "host"
    bnpc = dict(cfg.data.get("batch_n_per_class") or {})
    per_batch = "/".join(str(v) for v in bnpc.values())
    layer = OmegaConf.select(cfg, "model.head.layer_size")
    kept = f"; the last checkpoint {last_ckpt} is kept" if last_ckpt.exists() else ""
    raise OutOfMemory(
        f"out of {kind} memory in training: lower data.batch_n_per_class ({per_batch} rows per batch, "
        f"e.g. half), model.head.layer_size ({layer}) or data.n_samples_val ({cfg.data.get('n_samples_val')} "
        f"held-out clips), or set trainer.accelerator=cpu, then rerun{kept}"
    ) from None


def _resume_path(cfg: DictConfig, last: Path) -> str | None:
    """``last.ckpt`` when resuming and it loads; an unreadable one is set aside (kept) and the run starts over."""
    if not cfg.get("resume", True) or not last.exists():
        return None
    from wakeforge.training.callbacks.resume import readable_step, set_aside

    step = readable_step(last)
    if step is None:
        kept = set_aside(last)
        log.warning("%s cannot be loaded (truncated or corrupt); kept as %s, training starts from step 0", last, kept.name)
        return None
    log.info("resuming from %s (step %d)", last, step)
    return str(last)

