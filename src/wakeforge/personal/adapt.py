"""Fine-tune a trained head on the user's recordings without forgetting what it knew.

Rows: every training recording is augmented ``finetune.rows_per_recording`` times by stage 2's
own featurizer (:func:`wakeforge.augment.stage.build_featurizer`: room reverb, background
noise, gain, EQ, speed, placed at the window end like stage 2's positives); the user's
negatives give stage 2's sliding negative rows. Batches mix those rows with the base run's own
training features (its ``data.batch_n_per_class`` of ``features/*_train.npy``), so the head keeps
what it learnt on thousands of voices while it learns the household's.

Training is the same LightningModule and loss as stage 3 (hard-example mining, negative weight),
at a lower learning rate, starting at the base model's full negative weight.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wakeforge.core.layout import feature_file
from wakeforge.core.errors import WakeforgeError

log = logging.getLogger(__name__)

#: Stage 2's training classes of the base run that are mixed back in.
BASE_CLASSES = ("positive", "adversarial_negative", "background")
#: Seeds of the generator per row kind (positives, negatives).
SEED_POSITIVE, SEED_NEGATIVE = 101, 102


def _save_rows(path: Path, rows: np.ndarray) -> Path:
    from wakeforge.utils.atomic import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, rows.astype(np.float32, copy=False))
    return path


def make_rows(
    featurizer: Any,
    clips: Sequence[np.ndarray],
    rows_per_clip: int,
    seed: int,
    *,
    negative: bool = False,
    progress: Any = None,
) -> np.ndarray:
    """Augmented feature rows ``[len(clips) * rows_per_clip, n_frames, 96]`` of the clips.

    Positives: each round places every clip at the window end with fresh augmentation.
    Negatives: stage 2's sliding rows (``featurizer.negative_windows`` per clip and round).
    """
    from wakeforge.augment.featurize import seeded_generator

    out: list[np.ndarray] = []
    clips = [np.asarray(c, dtype=np.float32) for c in clips]
    for r in range(int(rows_per_clip)):
        g = seeded_generator(seed, SEED_NEGATIVE if negative else SEED_POSITIVE, r)
        feats = featurizer.negative_rows(clips, g) if negative else featurizer(clips, "end", g)
        out.append(feats.float().cpu().numpy().copy())
        if progress is not None:
            progress.update(len(clips))
    return np.concatenate(out) if out else np.zeros((0, featurizer.n_frames, 96), np.float32)


def class_sources(
    work_dir: Path,
    base_batch: dict[str, Any],
    extra: Sequence[tuple[str, Path, int, float, float]],
) -> list[Any]:
    """Per-class row readers for the mixed batches: the base run's classes, then ``extra``
    ``(name, rows file, rows per batch, label, loss weight)`` (the user's rows)."""
    from wakeforge.training.data.datamodule import ClassSource
    from wakeforge.training.data.sources import RowReader

    sources = []
    for name in BASE_CLASSES:
        n = int(base_batch.get(name, 0) or 0)
        path = feature_file(work_dir, name, "train")
        if n <= 0:
            continue
        if not path.is_file():
            if name == "background":
                continue
            raise WakeforgeError(
                f"the base model's training features {path} are gone; personalize mixes them in so the model does "
                f"not forget (rerun `python -m wakeforge.augment` with the base model's config to remake them)")
        sources.append(ClassSource(name, RowReader(path, name), n, 1.0 if name == "positive" else 0.0))
    for name, path, n, label, weight in extra:
        if n > 0:
            sources.append(ClassSource(name, RowReader(path, name), int(n), float(label), float(weight)))
    return sources


def fine_tune(
    head: torch.nn.Module,
    sources: list[Any],
    *,
    steps: int,
    learning_rate: float,
    model_cfg: dict[str, Any],
    lit_state: dict[str, Any],
    seed: int,
    threshold: float,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train ``head`` for ``steps`` batches; returns the trained head and a summary."""
    import lightning.pytorch as pl
    from torch.utils.data import DataLoader

    from wakeforge.training.callbacks.progress import StepProgressBar
    from wakeforge.training.data.datamodule import BalancedBatches
    from wakeforge.training.models.lit_module import WakeWordLitModule
    from wakeforge.utils.console import setup_console

    setup_console()  # after importing Lightning: its INFO lines and warnings are filtered

    def num(key: str, default: float) -> float:
        v = model_cfg.get(key, default)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else float(default)

    pl.seed_everything(int(seed), workers=True, verbose=False)
    module = WakeWordLitModule(
        head=head,
        learning_rate=float(learning_rate),
        weight_decay=num("weight_decay", 1e-2),
        warmup_fraction=0.1,
        max_negative_weight=num("max_negative_weight", 10.0),
        negative_weight_ramp_fraction=0.0,  # the base model ended at its full negative weight
        threshold=float(threshold),
    )
    boost = lit_state.get("fp_boost")
    if isinstance(boost, torch.Tensor) and boost.numel() == 1:
        module.fp_boost.copy_(boost.float().clamp(1.0, 64.0))
    loader = DataLoader(BalancedBatches(sources, int(seed)), batch_size=None, num_workers=0)
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_steps=int(steps), limit_val_batches=0, logger=False,
        enable_checkpointing=False, enable_model_summary=False, num_sanity_val_steps=0,
        callbacks=[StepProgressBar()], gradient_clip_val=1.0, default_root_dir=None,
    )
    t0 = time.perf_counter()
    trainer.fit(module, train_dataloaders=loader)
    loss = trainer.callback_metrics.get("train/loss")
    return module.head.eval(), {
        "steps": int(trainer.global_step),
        "seconds": round(time.perf_counter() - t0, 1),
        "final_loss": float(loss.item()) if loss is not None else None,
        "batch": {s.name: s.n_per_batch for s in sources},
        "rows": {s.name: len(s.reader) for s in sources},
    }
