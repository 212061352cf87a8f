"""Stage 2: augment stage 1's clips and precompute openWakeWord features to ``.npy``.

Writes ``{work_dir}/features/{class}_features_{split}.npy`` (``[N, 16, 96]`` float32) for
``positive`` (phrase placed at the window end), ``adversarial_negative`` (stage 1's negative
speech at random offsets) and ``background`` (speech-free background windows). Each file is
filled in blocks through :class:`~wakeforge.features.store.FeatureWriter`: a killed run resumes
with the missing blocks, and block ``k`` is always made from the generator seeded with
``(seed, class, split, k)``, so a resumed file equals an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from wakeforge.audio.constants import SAMPLE_RATE_HZ
from wakeforge.core.config import resolve_path
from wakeforge.core.layout import clips_dir, feature_file, features_dir
from wakeforge.core.errors import ConfigError
from wakeforge.utils.atomic import write_json_atomic

log = logging.getLogger(__name__)

#: What the last :func:`run_augment` in this process did (rows, made, seconds): the run's plan
#: learns the machine's rate from it.
LAST_RUN: dict[str, float] = {}

CLASS_IDS = {"positive": 1, "adversarial_negative": 2, "background": 3, "rearranged_negative": 4}
SPLIT_IDS = {"train": 1, "test": 2}


def build_featurizer(cfg: DictConfig, extra_clips: list[Any] | None = None) -> Any:
    """Augmenter + torch feature extractor on ``cfg.device`` as one :class:`ClipFeaturizer`."""
    from wakeforge.augment.featurize import ClipFeaturizer, pick_device
    from wakeforge.augment.pipeline import AugmentationConfig, build_augmenter
    from wakeforge.features.assets import feature_model_paths
    from wakeforge.features.torch_extractor import TorchFeatureExtractor

    device = pick_device(str(cfg.get("device", "auto")))
    aug_cfg = AugmentationConfig.from_config(cfg.augmentation)
    aug_cfg = _resolve_aug_paths(aug_cfg)
    augmenter = build_augmenter(
        aug_cfg, cache_dir=resolve_path(cfg.paths.cache_dir), seed=int(cfg.seed), extra_clips=extra_clips, device=device
    )
    extractor = TorchFeatureExtractor(feature_model_paths(resolve_path(cfg.features.cache_dir)),
                                      floor=str(cfg.features.get("floor", "chunk"))).to(device)
    length = int(round(float(cfg.data.clip_duration_s) * SAMPLE_RATE_HZ))
    return ClipFeaturizer(
        augmenter, extractor, length, n_frames=int(cfg.features.n_frames),
        end_jitter_s=aug_cfg.end_jitter_s, pad_dbfs=aug_cfg.pad_dbfs, device=device,
        end_fraction=float(cfg.data.get("negative_end_fraction", 0.5)),
        negative_windows=negative_windows_per_clip(cfg),
        negative_hop_frames=_hop_frames(cfg),
        p_speed=aug_cfg.p_speed, speed_factor=aug_cfg.speed_factor,
        p_vtlp=aug_cfg.p_vtlp, vtlp_factor=aug_cfg.vtlp_factor,
        p_tempo=aug_cfg.p_tempo, tempo_factor=aug_cfg.tempo_factor,
    )


def check_negative_windows(cfg: DictConfig) -> None:
    """Raise :class:`ConfigError` for bad ``data.negative_windows_per_clip`` / ``negative_window_hop_s``."""
    negative_windows_per_clip(cfg)
    _hop_frames(cfg)


def negative_windows_per_clip(cfg: DictConfig) -> int:
    """Feature rows per negative clip (``data.negative_windows_per_clip``, at least 1)."""
    n = int(cfg.data.get("negative_windows_per_clip", 1) or 1)
    if n < 1:
        raise ConfigError(f"data.negative_windows_per_clip={n} must be >= 1")
    return n


def _hop_frames(cfg: DictConfig) -> int:
    hop_s = float(cfg.data.get("negative_window_hop_s", 0.16))
    frames = int(round(hop_s / 0.08))
    if frames < 1 or abs(frames * 0.08 - hop_s) > 1e-6:
        raise ConfigError(
            f"data.negative_window_hop_s={hop_s} must be a positive multiple of 0.08 s (one embedding frame)"
        )
    return frames


def _resolve_aug_paths(aug_cfg: Any) -> Any:
    import dataclasses

    return dataclasses.replace(
        aug_cfg,
        rir_paths=[str(resolve_path(p)) for p in aug_cfg.rir_paths],
        background_paths=[str(resolve_path(p)) for p in aug_cfg.background_paths],
    )


def _fingerprint(cfg: DictConfig, names: list[str], rounds: int) -> str:
    aug = OmegaConf.to_container(cfg.augmentation, resolve=True)
    if not float(aug.get("p_vtlp", 0.0) or 0.0):
        # Added after runs were made: while off, features equal those of runs made before the
        # key existed, so their finished stage 2 stays valid.
        aug.pop("p_vtlp", None)
        aug.pop("vtlp_factor", None)
    if not float(aug.get("p_clip", 0.0) or 0.0):  # the same for hard clipping (added later)
        aug.pop("p_clip", None)
        aug.pop("clip_drive_db", None)
    if not float(aug.get("background_household_share", 0.0) or 0.0):  # and household backgrounds
        aug.pop("background_household_share", None)
    parts = {
        "names": names,
        "rounds": rounds,
        "seed": int(cfg.seed),
        "augmentation": aug,
        "clip_duration_s": float(cfg.data.clip_duration_s),
        "negative_end_fraction": float(cfg.data.get("negative_end_fraction", 0.5)),
        "negative_windows_per_clip": negative_windows_per_clip(cfg),
        "negative_hop_frames": _hop_frames(cfg),
        "feature_floor": str(cfg.get("features", {}).get("floor", "chunk")),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _free_device_memory() -> None:
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # pragma: no cover - best effort
        pass


def _fill(writer: Any, make_block: Any, block: int, progress: Any, halved: bool = False) -> tuple[int, bool]:
    """Write the writer's missing rows in blocks; returns ``(block size, halved)``.

    A CUDA or host out-of-memory error halves the block size once (rows already written are
    kept) and goes on; a second one stops with :class:`~wakeforge.core.errors.OutOfMemory`. Blocks
    after a halving start at other rows, so their random draws (seeded by the block's first
    row) differ from an uninterrupted full-size run.
    """
    from wakeforge.core.errors import OutOfMemory, is_out_of_memory

    while True:
        try:
            for start, stop in writer.missing_ranges(block):
                writer.write(start, make_block(start, stop))
                progress.update(stop - start)
            return block, halved
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            _free_device_memory()
            kind = "CUDA" if type(exc).__name__ == "OutOfMemoryError" else "host"
            if halved or block <= 1:
                raise OutOfMemory(
                    f"out of {kind} memory in augmentation at augmentation.batch_size={block}"
                    f"{' (already halved once)' if halved else ''}: lower augmentation.batch_size "
                    f"(e.g. {max(1, block // 2)}) or augmentation.background_max_s, or set device=cpu; "
                    f"{writer.n_done} of {writer.n_rows} rows of {writer.path.name} are kept, rerun to continue"
                ) from None
            log.warning(
                "augment: out of %s memory with augmentation.batch_size=%d; retrying with %d "
                "(set augmentation.batch_size=%d to start there)", kind, block, block // 2, block // 2,
            )
            block, halved = block // 2, True


def run_augment(cfg: DictConfig) -> dict[str, Any]:
    """Precompute features for every class and split; returns rows written per file."""
    import torch

    from wakeforge.utils.console import ProgressLine
    from wakeforge.augment.featurize import load_clip_folder, seeded_generator
    from wakeforge.features.store import FeatureWriter

    work = resolve_path(cfg.work_dir)
    seed = int(cfg.seed)
    rounds = max(1, int(cfg.augmentation.get("rounds", 1)))
    # Positive training clips are few and cheap to augment (one window each, against
    # negative_windows_per_clip for a negative clip): they get positive_rounds x more copies.
    positive_rounds = rounds * max(1, int(cfg.augmentation.get("positive_rounds", 1)))
    block = max(1, int(cfg.augmentation.get("batch_size", 64)))
    torch.set_num_threads(max(1, torch.get_num_threads()))

    t0 = time.perf_counter()
    sets: dict[tuple[str, str], tuple[list[np.ndarray], list[str], str]] = {}
    for cls, folder, mode in (("positive", "positive", "end"), ("adversarial_negative", "negative", "mixed")):
        for split in ("train", "test"):
            folder_path = clips_dir(work, f"{folder}_{split}")
            clips, names = load_clip_folder(folder_path, f"{folder}_{split} clips")
            # Fingerprint by name, size and mtime: regenerated clips invalidate old features.
            stamps = []
            for n in names:
                st = (folder_path / n).stat()
                stamps.append(f"{n}:{st.st_size}:{st.st_mtime_ns}")
            sets[(cls, split)] = (clips, stamps, mode)
    n_rearranged = int((cfg.data.get("batch_n_per_class") or {}).get("rearranged_negative", 0) or 0)
    if n_rearranged > 0:
        # Negatives made of the positive clips themselves (reversed, halved, shuffled, spliced;
        # wakeforge.augment.rearrange): the voices and channels of the positives without the
        # phrase. Five per source clip, from an evenly spaced subset of the positives.
        from wakeforge.augment.rearrange import rearranged_subset

        pclips, pstamps, _ = sets[("positive", "train")]
        made, picked = rearranged_subset(pclips, int(cfg.data.get("n_rearranged_negative", 2000)), seed)
        sets[("rearranged_negative", "train")] = (made, [pstamps[i] for i in picked] + ["rearranged:v1"], "mixed")
    babble = sets[("adversarial_negative", "train")][0][:300]
    featurizer = build_featurizer(cfg, extra_clips=babble)
    log.info("augment: banks and feature models ready in %.1f s (device %s)", time.perf_counter() - t0, featurizer.device)

    manifest_path = features_dir(work) / "manifest.json"
    manifest: dict[str, Any] = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    n_background = int(cfg.data.get("n_background", 0))
    jobs: list[tuple[str, str, int, Any, str]] = []
    per_clip = {"positive": 1, "adversarial_negative": featurizer.negative_windows,
                "rearranged_negative": featurizer.negative_windows}
    for (cls, split), (clips, names, mode) in sets.items():
        n_rounds = (positive_rounds if cls == "positive" else rounds) if split == "train" else 1
        k = per_clip[cls]
        jobs.append((cls, split, len(clips) * n_rounds * k, (clips, mode, k), _fingerprint(cfg, names, n_rounds)))
    if n_background > 0:
        jobs.append(("background", "train", n_background * rounds, None, _fingerprint(cfg, ["background", str(n_background)], rounds)))

    written: dict[str, int] = {}
    made = 0
    halved = False  # set once an out-of-memory error halved the block size
    total = sum(j[2] for j in jobs)
    t1 = time.perf_counter()
    # One display for the whole stage: a bar on a terminal, a line every 20 s in a log file.
    with ProgressLine(total, "augment", "row") as progress:
        for cls, split, n_rows, src, fp in jobs:
            path = feature_file(work, cls, split)
            key = path.name
            resume = manifest.get(key, {}).get("fingerprint") == fp
            writer = FeatureWriter(path, n_rows=n_rows, resume=resume, fingerprint=fp)
            progress.skip(writer.n_done)
            progress.set_postfix(f"{cls}/{split}")
            cid, sid = CLASS_IDS[cls], SPLIT_IDS[split]

            def make_block(start: int, stop: int, src: Any = src, cid: int = cid, sid: int = sid) -> np.ndarray:
                g = seeded_generator(seed, cid, sid, start)
                if src is None:
                    windows = featurizer.background_windows(stop - start, g)
                    feats = featurizer.features(windows, g)
                else:
                    clips, mode, k = src
                    # Rows are clip-major (k rows per clip): featurise the clips the block
                    # touches and cut out its rows.
                    first, last = start // k, (stop - 1) // k
                    picked = [clips[c % len(clips)] for c in range(first, last + 1)]
                    if mode == "mixed":
                        feats = featurizer.negative_rows(picked, g)[start - first * k : stop - first * k]
                    else:
                        feats = featurizer(picked, mode, g)
                return feats.float().cpu().numpy()

            done_before = writer.n_done
            # Blocks count rows; a negative clip gives k rows, so its blocks hold k x as many.
            k = per_clip.get(cls, 1)
            job_block, halved = _fill(writer, make_block, block * k, progress, halved)
            block = max(1, job_block // k)
            writer.finalize()
            made += n_rows - done_before
            manifest[key] = {"fingerprint": fp, "rows": n_rows}
            write_json_atomic(manifest_path, manifest)
            written[key] = n_rows
    dt = time.perf_counter() - t1
    log.info("augment: %d feature rows in %s (%d made in %.1f s, %.0f rows/s; %d kept from before)",
             total, features_dir(work), made, dt, made / max(dt, 1e-9), total - made)
    LAST_RUN.update(rows=total, made=made, seconds=dt)
    return written


__all__ = ["run_augment", "build_featurizer", "Path"]
