"""``data.stream=true``: augment and featurise raw clips on the device for every batch.

Instead of precomputing one fixed augmentation per clip (openWakeWord writes tens of GB of
``.npy``), each training batch places fresh random clips, and ``on_after_batch_transfer`` runs
the augmentation chain and the torch feature extractor on the batch's device (GPU when there is
one). Extra precomputed classes (``data.feature_data_files``, e.g. ACAV100M) are mixed in by
``batch_n_per_class`` as in precomputed mode. Validation features are computed once, with a
fixed seed, by the same code (:class:`~wakeforge.augment.featurize.ClipFeaturizer`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from omegaconf import DictConfig
from torch.utils.data import DataLoader, IterableDataset

from wakeforge.core.config import resolve_path
from wakeforge.training.data.datamodule import ValidationWindows
from wakeforge.core.layout import clips_dir
from wakeforge.training.data.sources import RowReader, open_feature_rows
from wakeforge.core.errors import WakeforgeError

log = logging.getLogger(__name__)

AUDIO_CLASSES = {"positive": ("positive", "end", 1.0), "adversarial_negative": ("negative", "mixed", 0.0)}


class ArrayRows:
    """In-memory stand-in for :class:`RowReader` (same ``read``/``len``/``name``)."""

    def __init__(self, array: np.ndarray, name: str) -> None:
        self.array = np.ascontiguousarray(array, dtype=np.float32)
        self.name = name

    def __len__(self) -> int:
        return len(self.array)

    def read(self, idx: Any) -> np.ndarray:
        return self.array[np.asarray(idx, dtype=np.int64)]


class StreamBatches(IterableDataset):
    """Endless CPU-side batches: placed windows of raw clips + rows of precomputed classes."""

    def __init__(self, module: StreamingDataModule) -> None:
        super().__init__()
        self.m = module

    def __iter__(self) -> Iterator[dict[str, Any]]:
        from wakeforge.augment.featurize import seeded_generator

        step = self.m.start_step()
        while True:
            g = seeded_generator(self.m.seed, 77, self.m.rank(), step)
            windows, wl, ww = [], [], []
            for name, n in self.m.batch_n_per_class.items():
                if n <= 0 or name in self.m.readers:
                    continue
                if name == "background":
                    windows.append(self.m.featurizer.background_windows(n, g))
                else:
                    clips = self.m.clips[name]
                    idx = torch.randint(0, len(clips), (n,), generator=g).tolist()
                    mode = AUDIO_CLASSES[name][1] if name in AUDIO_CLASSES else "mixed"  # rearranged_negative
                    windows.append(self.m.featurizer.windows([clips[i] for i in idx], mode, g))
                label = 1.0 if name == "positive" else 0.0
                wl.append(torch.full((n,), label))
                ww.append(torch.full((n,), float(self.m.penalty_weights.get(name, 1.0))))
            rng = np.random.default_rng([self.m.seed, 78, self.m.rank(), step])
            pre, pl, pw = [], [], []
            for name, reader in self.m.readers.items():
                n = self.m.batch_n_per_class.get(name, 0)
                if n <= 0:
                    continue
                pre.append(torch.from_numpy(reader.read(rng.integers(0, len(reader), n))))
                pl.append(torch.full((n,), 1.0 if name == "positive" else 0.0))
                pw.append(torch.full((n,), float(self.m.penalty_weights.get(name, 1.0))))
            yield {
                "step": torch.tensor(step),
                "windows": torch.cat(windows) if windows else torch.zeros(0, self.m.featurizer.length),
                "window_labels": torch.cat(wl) if wl else torch.zeros(0),
                "window_weights": torch.cat(ww) if ww else torch.zeros(0),
                "features": torch.cat(pre) if pre else torch.zeros(0, 16, 96),
                "feature_labels": torch.cat(pl) if pl else torch.zeros(0),
                "feature_weights": torch.cat(pw) if pw else torch.zeros(0),
            }
            step += 1


class StreamingDataModule(LightningDataModule):
    """Fresh augmentations every batch, featurised on the device."""

    def __init__(self, cfg: DictConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.seed = int(cfg.seed)
        self.work_dir = resolve_path(cfg.work_dir)
        self.batch_n_per_class = {k: int(v) for k, v in dict(cfg.data.batch_n_per_class).items()}
        self.penalty_weights = dict(cfg.data.get("penalty_weights") or {})
        self.feature_data_files = {k: str(resolve_path(v)) for k, v in (cfg.data.get("feature_data_files") or {}).items()}
        self.fp_path = cfg.data.get("false_positive_validation_data_path")
        self.readers: dict[str, RowReader] = {}
        self.clips: dict[str, list[np.ndarray]] = {}
        self.featurizer: Any = None
        self.val_parts: list[tuple[Any, int]] = []

    @classmethod
    def from_config(cls, cfg: DictConfig) -> StreamingDataModule:
        return cls(cfg)

    def rank(self) -> int:
        trainer = getattr(self, "trainer", None)
        return int(trainer.global_rank) if trainer is not None else 0

    def start_step(self) -> int:
        trainer = getattr(self, "trainer", None)
        return int(trainer.global_step) if trainer is not None else 0

    def setup(self, stage: str | None = None) -> None:
        if self.featurizer is not None:
            return
        from wakeforge.augment.featurize import load_clip_folder, seeded_generator
        from wakeforge.augment.stage import build_featurizer

        for name, path in self.feature_data_files.items():
            self.readers[name] = RowReader(path, name)
        test_clips: dict[str, list[np.ndarray]] = {}
        for name, (folder, _mode, _label) in AUDIO_CLASSES.items():
            self.clips[name], _ = load_clip_folder(clips_dir(self.work_dir, f"{folder}_train"), f"{folder}_train clips")
            test_clips[name], _ = load_clip_folder(clips_dir(self.work_dir, f"{folder}_test"), f"{folder}_test clips")
        if self.batch_n_per_class.get("rearranged_negative", 0) > 0:
            from wakeforge.augment.rearrange import rearranged_subset

            self.clips["rearranged_negative"], _ = rearranged_subset(
                self.clips["positive"], int(self.cfg.data.get("n_rearranged_negative", 2000)), int(self.cfg.seed))
        self.featurizer = build_featurizer(self.cfg, extra_clips=self.clips["adversarial_negative"][:300])
        parts: list[tuple[Any, int]] = []
        block = max(1, int(self.cfg.augmentation.get("batch_size", 64)))
        for name, group in (("positive", 0), ("adversarial_negative", 1)):
            clips, mode = test_clips[name], AUDIO_CLASSES[name][1]
            feats = []
            for s in range(0, len(clips), block):  # fixed seed: the same validation set every epoch
                g = seeded_generator(self.seed, 2, group, s)
                if name == "adversarial_negative":  # k rows per clip, as stage 2 writes them
                    feats.append(self.featurizer.negative_rows(clips[s : s + block], g).cpu().numpy())
                else:
                    feats.append(self.featurizer(clips[s : s + block], mode, g).cpu().numpy())
            parts.append((ArrayRows(np.concatenate(feats), f"{name}_test"), group))
        if self.fp_path:
            parts.append((open_feature_rows(resolve_path(self.fp_path), "fp_validation"), 2))
        self.val_parts = parts
        if self.batch_n_per_class.get("positive", 0) <= 0:
            raise WakeforgeError("data.batch_n_per_class.positive must be >= 1")
        log.info("streaming: %s clips, device %s", {k: len(v) for k, v in self.clips.items()}, self.featurizer.device)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(StreamBatches(self), batch_size=None, num_workers=0)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(ValidationWindows(self.val_parts), batch_size=None, shuffle=False, num_workers=0)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if not isinstance(batch, dict):  # validation batches are (x, group)
            return batch
        from wakeforge.augment.featurize import seeded_generator

        xs, ys, ws = [], [], []
        if batch["windows"].numel():
            g = seeded_generator(self.seed, 79, self.rank(), int(batch["step"]))
            xs.append(self.featurizer.features(batch["windows"], g, augment=True))
            ys.append(batch["window_labels"])
            ws.append(batch["window_weights"])
        if batch["features"].numel():
            xs.append(batch["features"].to(xs[0].device if xs else batch["features"].device))
            ys.append(batch["feature_labels"])
            ws.append(batch["feature_weights"])
        dev = xs[0].device
        return torch.cat(xs), torch.cat([y.to(dev) for y in ys]), torch.cat([w.to(dev) for w in ws])
