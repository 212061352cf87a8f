"""``last.ckpt`` for resuming: written after every validation and at the end, atomically.

Lightning 2.6's ``ModelCheckpoint(save_last=True)`` refreshes ``last.ckpt`` only when the
monitored metric improved (or on the first save), so a run killed after a validation that did
not improve would resume from an older step, and a finished run's ``last.ckpt`` may sit below
``trainer.max_steps`` (rerunning the same command would then train the tail again). It also
writes the file in place, so a kill during the write leaves a truncated checkpoint.

:class:`ResumeCheckpoint` owns ``last.ckpt`` instead: after every validation and when training
ends it saves the full trainer state to a temp file in the same folder and renames it into place
(``os.replace``), so ``last.ckpt`` is always whole and always the newest validated step. It is a
:class:`~lightning.pytorch.callbacks.Checkpoint`, which Lightning runs after its other callbacks
and after the ``ModelCheckpoint`` listed before it, so the saved state includes that step's
best-model bookkeeping and validation history.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from pathlib import Path
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Checkpoint

from wakeforge.core.errors import WakeforgeError, note_kept

log = logging.getLogger(__name__)

LAST_NAME = "last.ckpt"


class ResumeCheckpoint(Checkpoint):
    """Atomically keep ``{dirpath}/last.ckpt`` at the latest validated step (and at the end)."""

    def __init__(self, dirpath: str | os.PathLike[str], filename: str = LAST_NAME) -> None:
        super().__init__()
        self.dirpath = Path(dirpath)
        self.filename = filename
        self._saved_step = -1

    @property
    def path(self) -> Path:
        return self.dirpath / self.filename

    @property
    def state_key(self) -> str:
        return self._generate_state_key(filename=self.filename)

    def _save(self, trainer: Trainer) -> None:
        from lightning.pytorch.trainer.states import TrainerFn

        if trainer.sanity_checking or trainer.fast_dev_run or trainer.state.fn != TrainerFn.FITTING:
            return
        step = int(trainer.global_step)
        if step == self._saved_step:
            return
        self.dirpath.mkdir(parents=True, exist_ok=True)
        tmp = self.dirpath / f".tmp-{self.filename}"
        trainer.save_checkpoint(str(tmp))  # every rank calls it; rank 0 writes, then a barrier
        if trainer.is_global_zero:
            os.replace(tmp, self.path)
        self._saved_step = step
        note_kept("training", f"{self.path} at step {step}")

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._save(trainer)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._save(trainer)

    def state_dict(self) -> dict[str, Any]:
        return {"saved_step": self._saved_step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._saved_step = int(state_dict.get("saved_step", -1))


class UnsafeCheckpoint(WakeforgeError):
    """A checkpoint holds pickled objects (code that would run on load), not plain weights."""


def load_plain_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)``: tensors and plain types only.

    wakeforge's own checkpoints hold nothing else (Lightning's trainer state, our callbacks'
    lists and numbers), so they load; a file with any other pickled object (which
    ``weights_only=False`` would build, running its code) is refused.

    Raises:
        UnsafeCheckpoint: the file is a pickle with objects other than tensors and plain types.
        Exception: truncated/corrupt files raise what ``torch.load`` raises.
    """
    import pickle

    import torch

    try:
        ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights_only" not in str(exc) and "Unsupported global" not in str(exc):
            raise  # a corrupt file, not a refused object
        m = re.search(r"Unsupported global: GLOBAL ([^\s]+)", str(exc))
        what = f" ({m.group(1)})" if m else ""
        raise UnsafeCheckpoint(
            f"checkpoint {path} holds pickled objects{what}, not plain weights; wakeforge refuses to "
            "load it because that would run code from the file. Delete or move it (training then "
            "starts from step 0), and only use checkpoints that wakeforge wrote"
        ) from None
    if not isinstance(ckpt, dict):
        raise UnsafeCheckpoint(f"checkpoint {path} is not a training checkpoint (a {type(ckpt).__name__}); delete or move it")
    return ckpt


def readable_step(path: str | os.PathLike[str]) -> int | None:
    """``global_step`` of a checkpoint, or None when it cannot be loaded (truncated, corrupt).

    Raises:
        UnsafeCheckpoint: the file holds pickled objects (see :func:`load_plain_checkpoint`).
    """
    try:
        ckpt = load_plain_checkpoint(path)
        return int(ckpt["global_step"])
    except UnsafeCheckpoint:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable file means "do not resume from it"
        log.debug("checkpoint %s unreadable: %s", path, exc)
        return None


def set_aside(path: Path) -> Path:
    """Rename an unreadable checkpoint (never delete what a run made); returns the new path."""
    dest = path.with_name(path.name + ".unreadable")
    with contextlib.suppress(OSError):
        os.replace(path, dest)
    return dest
