"""``run_personalize``: recordings -> augmented rows -> fine-tuned head -> guard -> export.

Everything is written to a staging folder beside the output folder and moved into place only
when the guard accepts the new model, so a refused, failed or interrupted adaptation leaves
the old model (and any earlier personal model) untouched.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from wakeforge.core.config import open_struct, resolve_path
from wakeforge.core.errors import ConfigError, WakeforgeError

log = logging.getLogger(__name__)


def _num(node: Any, key: str) -> float:
    v = node.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"finetune.{key} must be a number, got {v!r}")
    return float(v)


def check_settings(cfg: DictConfig) -> None:
    """One line for each impossible ``finetune`` value (before any work)."""
    ft = cfg.finetune
    if not ft.get("init_from"):
        raise ConfigError("no model to adapt: pass --model MODEL (a trained wakeforge model's .onnx or its folder), "
                          "or finetune.init_from=MODEL")
    if not list(cfg.data.get("positive_paths") or []):
        raise ConfigError("no recordings given: pass --recordings DIR (5-50 recordings of the phrase, one per file), "
                          "or data.positive_paths=[DIR]")
    for key, lo, hi in (("steps", 1, 100_000), ("rows_per_recording", 1, 10_000), ("batch_n_personal", 1, 4096),
                        ("batch_n_negative", 0, 4096)):
        v = _num(ft, key)
        if v != int(v) or not lo <= v <= hi:
            raise ConfigError(f"finetune.{key}={ft.get(key)} must be a whole number in [{lo}, {hi}]")
    if not 0.0 <= _num(ft, "holdout_fraction") < 1.0:
        raise ConfigError(f"finetune.holdout_fraction={ft.holdout_fraction} must be in [0, 1)")
    if not 0.0 < _num(ft, "learning_rate") < 1.0:
        raise ConfigError(f"finetune.learning_rate={ft.learning_rate} must be in (0, 1)")
    if not 0.0 < _num(ft, "personal_weight") <= 1000.0:
        raise ConfigError(f"finetune.personal_weight={ft.personal_weight} must be in (0, 1000]")
    if _num(ft, "max_fa_increase") < 0:
        raise ConfigError(f"finetune.max_fa_increase={ft.max_fa_increase} must be >= 0")
    if _num(ft, "max_recording_s") <= 0:
        raise ConfigError(f"finetune.max_recording_s={ft.max_recording_s} must be > 0")


def _featurizer(cfg: DictConfig, base: Any) -> Any:
    from wakeforge.augment.stage import build_featurizer

    cfg = copy.deepcopy(cfg)
    data = base.section("data")
    with open_struct(cfg):
        cfg.features.n_frames = int(getattr(base.head, "n_frames", 16))
        dur = data.get("clip_duration_s")
        if isinstance(dur, (int, float)) and not isinstance(dur, bool) and 1.0 <= float(dur) <= 10.0:
            cfg.data.clip_duration_s = float(dur)
    return build_featurizer(cfg)


def _place(staging: Path, out_dir: Path) -> None:
    """Move the staged model files into ``out_dir`` (model files first, the card last)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = sorted((p for p in staging.iterdir() if p.is_file() and not p.name.endswith(".npy")),
                   key=lambda p: p.suffix == ".json")
    for f in files:
        os.replace(f, out_dir / f.name)


def run_personalize(cfg: DictConfig) -> dict[str, Any]:
    """Adapt ``finetune.init_from`` to ``data.positive_paths``; returns what was done.

    Raises:
        WakeforgeError: bad input (one line); :class:`~wakeforge.personal.guard.GuardRefused`
            when the new model would be worse (nothing exported, the old model kept).
    """
    from wakeforge.export.card import write_model_card
    from wakeforge.export.onnx import export_onnx
    from wakeforge.export.parity import check_parity, parity_inputs
    from wakeforge.features.assets import feature_model_paths
    from wakeforge.personal import guard
    from wakeforge.personal.adapt import class_sources, fine_tune, make_rows
    from wakeforge.personal.base import load_base
    from wakeforge.personal.recordings import MIN_RECORDINGS, load_takes, negative_pieces, split_holdout
    from wakeforge.utils.console import ProgressLine

    t_start = time.perf_counter()
    times: dict[str, float] = {}
    check_settings(cfg)
    ft = cfg.finetune
    base = load_base(resolve_path(str(ft.init_from)))
    log.info("personalize: base model %s (%s, weights from %s, threshold %.3g)", base.onnx, base.phrase,
             base.weights_from, base.threshold)
    paths = [str(p) for p in cfg.data.positive_paths]
    takes, skipped = load_takes(paths, min_s=float(cfg.data.min_clip_duration_s),
                                max_s=float(cfg.data.max_clip_duration_s), max_file_s=float(ft.max_recording_s))
    for reason in skipped:
        log.warning("skipping recording %s", reason)
    if len(takes) < MIN_RECORDINGS:
        why = f" ({len(skipped)} skipped; first: {skipped[0]})" if skipped else ""
        raise WakeforgeError(f"{len(takes)} usable recording(s) of the phrase in {', '.join(paths)}{why}; "
                             f"need at least {MIN_RECORDINGS} (5-50 is best): record some with "
                             "`python -m wakeforge.record --phrase PHRASE --n 20 DIR`")
    train, held = split_holdout(takes, float(ft.holdout_fraction))
    neg_train, neg_held = negative_pieces(list(ft.negative_paths)) if ft.get("negative_paths") else ([], [])
    name = str(ft.get("model_name") or f"{base.model_name}_personal")
    from wakeforge.core.safety import model_name_problems

    bad = model_name_problems(OmegaConf.create({"model_name": name}))
    if bad:
        raise ConfigError(bad[0][1])
    out_dir = resolve_path(str(ft.out_dir)) if ft.get("out_dir") else base.work_dir.parent / name
    if out_dir.resolve() == base.work_dir.resolve() and name == base.model_name:
        raise ConfigError("finetune.model_name equals the base model's in the same folder; choose another name or out_dir")
    staging = out_dir.parent / f".{out_dir.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    times["load"] = time.perf_counter() - t_start
    log.info("personalize: %d recordings train, %d held out for the guard%s", len(train), len(held),
             f"; {len(neg_train)} + {len(neg_held)} negative pieces" if neg_train or neg_held else "")
    try:
        t0 = time.perf_counter()
        featurizer = _featurizer(cfg, base)
        n_rows = len(train) * int(ft.rows_per_recording)
        with ProgressLine(n_rows, "augment recordings", "row") as bar:
            rows = make_rows(featurizer, [t.audio for t in train], int(ft.rows_per_recording), int(cfg.seed),
                             progress=bar)
        personal = staging / "personal_positive_features_train.npy"
        from wakeforge.augment.rearrange import rearranged
        from wakeforge.personal.adapt import _save_rows

        _save_rows(personal, rows)
        extra = [("personal_positive", personal, int(ft.batch_n_personal), 1.0, float(ft.personal_weight))]
        negative_sets = []
        if neg_train:
            negative_sets.append(("personal_negative", neg_train))
        if ft.get("own_voice_negatives"):
            # the takes reversed, halved, shuffled, spliced: the household's voices without the phrase
            negative_sets.append(("own_voice_negative", rearranged([t.audio for t in train], int(cfg.seed))))
        for label, clips in negative_sets:
            rounds = max(1, 4000 // max(1, len(clips) * featurizer.negative_windows))
            path = _save_rows(staging / f"{label}_features_train.npy",
                              make_rows(featurizer, clips, rounds, int(cfg.seed), negative=True))
            extra.append((label, path, int(ft.batch_n_negative), 0.0, 1.0))
        times["augment"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        base_batch = base.section("data", "batch_n_per_class") or dict(cfg.data.batch_n_per_class)
        sources = class_sources(base.work_dir, base_batch, extra)
        head = copy.deepcopy(base.head)
        head, summary = fine_tune(head, sources, steps=int(ft.steps), learning_rate=float(ft.learning_rate),
                                  model_cfg=base.section("model"), lit_state=base.lit_state, seed=int(cfg.seed),
                                  threshold=base.threshold)
        times["fine_tune"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        n_frames = int(getattr(head, "n_frames", 16))
        onnx_path = export_onnx(head, staging / f"{name}.onnx", n_frames=n_frames)
        held_out = guard.held_out_streams(
            [t.audio for t in held], guard.general_speech_files(base.work_dir), neg_held,
            cache_dir=resolve_path(str(cfg.paths.cache_dir)) / "benchmark",
            feature_paths=feature_model_paths(resolve_path(str(cfg.features.cache_dir))))
        old = guard.figures(base.onnx, held_out, base.threshold)
        new = guard.figures(onnx_path, held_out, base.threshold)
        times["guard"] = time.perf_counter() - t0
        _log_figures(old, new, len(held), held_out.hours, base.threshold)
        reason = guard.decide(old, new, float(ft.max_fa_increase), held_out.hours)
        if reason:
            raise guard.GuardRefused(f"not exported: {reason}; the old model {base.onnx} is kept "
                                     "(give more or cleaner recordings, or raise finetune.max_fa_increase)")
        t0 = time.perf_counter()
        from wakeforge.export.tflite import export_tflite

        tflite_path = export_tflite(head, staging / f"{name}.tflite", n_frames=n_frames)
        parity = check_parity(head, onnx_path, tflite_path, parity_inputs(100, n_frames))
        adaptation = {
            "base_model": {"path": str(base.onnx), "model_name": base.model_name, "weights_from": base.weights_from,
                           "sha256": _sha(base.onnx)},
            "recordings_train": [str(t.path) for t in train],
            "recordings_held_out": [str(t.path) for t in held],
            "recordings_skipped": skipped,
            "negative_paths": [str(p) for p in (ft.get("negative_paths") or [])],
            "own_voice_negatives": bool(ft.get("own_voice_negatives")),
            "settings": OmegaConf.to_container(ft, resolve=True),
            "training": summary,
            "guard": {"threshold": base.threshold, "held_out_hours": held_out.hours,
                      "old": old.as_dict(), "new": new.as_dict(), "max_fa_increase": float(ft.max_fa_increase)},
        }
        config = copy.deepcopy(base.config)
        config["model_name"] = name
        card = write_model_card(
            staging / f"{name}.json", model_name=name, phrase=base.phrase,
            files={"onnx": onnx_path, "tflite": tflite_path}, threshold=base.threshold,
            metrics={"kind": "personal held-out recordings", **new.as_dict()}, parity=parity, config=config,
            extra={"adaptation": adaptation, "real_recordings": base.card.get("real_recordings"),
                   "held_out_evaluation_of_base": base.card.get("held_out_evaluation")},
        )
        _place(staging, out_dir)
        times["export"] = time.perf_counter() - t0
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    times["total"] = time.perf_counter() - t_start
    log.info("personalize: wrote %s and %s in %.0f s (%s)", out_dir / f"{name}.onnx", f"{name}.tflite",
             times["total"], ", ".join(f"{k} {v:.0f} s" for k, v in times.items() if k != "total"))
    return {"onnx": out_dir / f"{name}.onnx", "tflite": out_dir / f"{name}.tflite", "card": out_dir / card.name,
            "old": old, "new": new, "seconds": times, "n_train": len(train), "n_held_out": len(held)}


def _sha(path: Path) -> str:
    from wakeforge.export.card import sha256

    return sha256(path)


def _log_figures(old: Any, new: Any, n_held: int, hours: dict[str, float], threshold: float) -> None:
    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    log.info("guard at threshold %.3g: held-out recordings (%d): recall %s -> %s, mean best score %s -> %s",
             threshold, n_held, f(old.recall), f(new.recall), f(old.mean_score), f(new.mean_score))
    for k in new.fa_per_hour:
        log.info("guard: false accepts per hour on held-out %s (%.2f h): %.2f -> %.2f", k.replace("_", " "),
                 hours[k], old.fa_per_hour.get(k, 0.0), new.fa_per_hour[k])
