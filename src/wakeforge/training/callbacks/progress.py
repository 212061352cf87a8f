"""Training progress in steps (``train: 120/300 steps, 4.1 steps/s, about 43 s left``).

Lightning's own bar counts epochs, which a step-limited run does not have (``Epoch 0/-2``), and
redraws every few batches into a log file. This one shows optimizer steps against
``trainer.max_steps`` through :class:`~wakeforge.utils.console.ProgressLine`: a tqdm bar on a
terminal, a line every 20 s otherwise, with the loss and the last validation figures.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks.progress.progress_bar import ProgressBar

from wakeforge.utils.console import ProgressLine


class StepProgressBar(ProgressBar):
    """Progress of a step-limited fit; validation updates the figures shown, not a second bar."""

    def __init__(self) -> None:
        super().__init__()
        self._enabled = True
        self._line: ProgressLine | None = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @property
    def is_enabled(self) -> bool:
        return self._enabled

    def _postfix(self, trainer: Trainer) -> str:
        m = trainer.callback_metrics
        parts = []
        if "train/loss" in m:
            parts.append(f"loss {float(m['train/loss']):.3g}")
        if "val/recall" in m:
            parts.append(f"val recall {float(m['val/recall']):.2f}")
        return ", ".join(parts)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self._enabled or not trainer.is_global_zero:
            return
        total = int(trainer.max_steps) if trainer.max_steps and trainer.max_steps > 0 else 0
        if total <= 0:  # epoch-limited: steps per epoch x epochs
            total = int(self.total_train_batches) * max(1, int(trainer.max_epochs or 1))
        self._line = ProgressLine(total, "train", "step")
        self._line.skip(int(trainer.global_step))

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if self._line is None:
            return
        self._line.set_postfix(self._postfix(trainer))
        self._line.update(int(trainer.global_step) - self._line.n)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._line is not None:
            self._line.set_postfix(self._postfix(trainer))

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._line is not None:
            self._line.close()
            self._line = None

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        self.on_train_end(trainer, pl_module)
