"""``WakeWordDataModule``: balanced batches of feature windows for the head.

Precomputed mode (``data.stream=false``): each class is a ``[N, 16, 96]`` ``.npy`` file
(stage 2's outputs plus any ``data.feature_data_files``), read row-wise with
:class:`~wakeforge.training.data.sources.RowReader` so files larger than RAM train without being loaded.
Every training batch holds ``batch_n_per_class[c]`` random rows of each class ``c``; batch
``k`` is drawn from a generator seeded with ``(seed, k)``, so a resumed run sees exactly the
batches an uninterrupted run would.

Validation yields ``(x, group)`` with group 0 = held-out positives, 1 = held-out negatives,
2 = the continuous FP-validation stream (see ``wakeforge.training.models.lit_module``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset, IterableDataset

from wakeforge.core.layout import feature_file
from wakeforge.training.data.sources import RowReader, open_feature_rows
from wakeforge.core.errors import WakeforgeError

log = logging.getLogger(__name__)


@dataclass
class ClassSource:
    """One class of training windows: a reader, its per-batch count, label and loss weight."""

    name: str
    reader: RowReader
    n_per_batch: int
    label: float
    weight: float = 1.0


class BalancedBatches(IterableDataset):
    """Endless stream of ``(x [B,16,96], y [B], w [B])`` batches mixed per class."""

    def __init__(
        self, sources: list[ClassSource], seed: int, start_step: Callable[[], int] | None = None, rank: int = 0
    ) -> None:
        super().__init__()
        self.sources = sources
        self.seed = int(seed)
        self.start_step = start_step or (lambda: 0)
        self.rank = int(rank)  # DDP ranks draw different batches

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.rank, step])
        xs, ys, ws = [], [], []
        for src in self.sources:
            idx = rng.integers(0, len(src.reader), size=src.n_per_batch)
            xs.append(src.reader.read(idx))
            ys.append(np.full(src.n_per_batch, src.label, dtype=np.float32))
            ws.append(np.full(src.n_per_batch, src.weight, dtype=np.float32))
        return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys)), torch.from_numpy(np.concatenate(ws))

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        step = int(self.start_step()) + wid
        while True:
            yield self.batch(step)
            step += nw


class ValidationWindows(Dataset):
    """Concatenation of validation readers, each with a group id; read in order."""

    def __init__(self, parts: list[tuple[RowReader, int]], batch_rows: int = 1024) -> None:
        self.parts = parts
        self.batch_rows = batch_rows
        self.index: list[tuple[int, int, int]] = []  # (part, start, stop)
        for pi, (reader, _g) in enumerate(parts):
            for start in range(0, len(reader), batch_rows):
                self.index.append((pi, start, min(len(reader), start + batch_rows)))

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        pi, start, stop = self.index[i]
        reader, group = self.parts[pi]
        x = reader.read(np.arange(start, stop))
        return torch.from_numpy(x), torch.full((stop - start,), group, dtype=torch.long)


class WakeWordDataModule(LightningDataModule):
    """Feature windows for training and validation.

    Args:
        work_dir: the model's work folder (stage 2 writes ``features/`` there).
        batch_n_per_class: rows per class in each training batch.
        feature_data_files: extra negative feature files ``{name: path}``.
        false_positive_validation_data_path: continuous negative stream for FP/hour, or None.
        penalty_weights: optional per-class loss multipliers ``{name: weight}``.
        seed: batch sampling seed.
        num_workers: DataLoader workers.
    """

    def __init__(
        self,
        work_dir: str | Path,
        batch_n_per_class: Mapping[str, int],
        feature_data_files: Mapping[str, str] | None = None,
        false_positive_validation_data_path: str | None = None,
        penalty_weights: Mapping[str, float] | None = None,
        seed: int = 0,
        num_workers: int = 0,
        max_val_windows: int | None = None,
    ) -> None:
        super().__init__()
        self.work_dir = Path(work_dir)
        self.batch_n_per_class = {k: int(v) for k, v in dict(batch_n_per_class).items()}
        self.feature_data_files = {k: str(v) for k, v in dict(feature_data_files or {}).items()}
        self.fp_path = false_positive_validation_data_path
        self.penalty_weights = dict(penalty_weights or {})
        self.seed = seed
        self.num_workers = num_workers
        self.max_val_windows = max_val_windows
        self.train_sources: list[ClassSource] = []
        self.val_parts: list[tuple[RowReader, int]] = []

    def _class_path(self, name: str, split: str) -> Path:
        if name in self.feature_data_files:
            return Path(self.feature_data_files[name])
        return feature_file(self.work_dir, name, split)

    def setup(self, stage: str | None = None) -> None:
        sources = []
        for name, n in self.batch_n_per_class.items():
            if n <= 0:
                continue
            path = self._class_path(name, "train")
            if not path.exists():
                if name in self.feature_data_files:
                    raise WakeforgeError(f"data.feature_data_files.{name}: {path} not found (relative paths resolve against the current directory)")
                raise WakeforgeError(
                    f"training features for class {name!r} not found at {path}; run `python -m wakeforge.augment` "
                    f"first or remove {name} from data.batch_n_per_class"
                )
            reader = RowReader(path, name)
            if len(reader) == 0:
                raise WakeforgeError(f"feature file {path} is empty; rerun `python -m wakeforge.augment`")
            label = 1.0 if name == "positive" else 0.0
            sources.append(ClassSource(name, reader, n, label, float(self.penalty_weights.get(name, 1.0))))
        self.train_sources = sources
        parts: list[tuple[RowReader, int]] = []
        for name, group in (("positive", 0), ("adversarial_negative", 1)):
            path = feature_file(self.work_dir, name, "test")
            if path.exists():
                parts.append((RowReader(path, f"{name}_test"), group))
        if self.fp_path:
            p = Path(self.fp_path)
            if not p.exists():
                raise WakeforgeError(f"data.false_positive_validation_data_path: {p} not found (relative paths resolve against the current directory)")
            parts.append((open_feature_rows(p, "fp_validation"), 2))
        if not any(g == 0 for _, g in parts):
            raise WakeforgeError(
                f"held-out positive features not found at {feature_file(self.work_dir, 'positive', 'test')}; run `python -m wakeforge.augment`"
            )
        self.val_parts = parts
        sizes = ", ".join(f"{s.name}={len(s.reader)}x{s.n_per_batch}/batch" for s in sources)
        log.info("training classes: %s; validation windows: %s", sizes, ", ".join(f"{r.name}={len(r)}" for r, _ in parts))

    def _start_step(self) -> int:
        trainer = getattr(self, "trainer", None)
        return int(trainer.global_step) if trainer is not None else 0

    def train_dataloader(self) -> DataLoader:
        trainer = getattr(self, "trainer", None)
        rank = int(trainer.global_rank) if trainer is not None else 0
        ds = BalancedBatches(self.train_sources, self.seed, self._start_step, rank=rank)
        return DataLoader(ds, batch_size=None, num_workers=self.num_workers, persistent_workers=False)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(ValidationWindows(self.val_parts), batch_size=None, shuffle=False, num_workers=0)

    def state_dict(self) -> dict[str, Any]:
        return {"seed": self.seed}
