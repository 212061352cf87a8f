"""LightningModule that trains an openWakeWord head on ``[B, 16, 96]`` feature windows.

Loss: binary cross-entropy with a negative-class weight that ramps linearly from 1 to
``max_negative_weight`` (openWakeWord's recipe) and doubles after each validation whose
false accepts per hour exceed ``target_false_positives_per_hour``. Like openWakeWord, only
"hard" examples contribute: negatives scoring >= 0.001 and positives scoring < 0.999.

Validation batches carry a group id per window (see ``wakeforge.training.data.datamodule``):
``0`` held-out positive clips, ``1`` held-out negative clips, ``2`` a continuous negative
stream of 80 ms windows (openWakeWord's ``validation_set_features.npy``). Metrics:

* ``val/recall``: share of positive clips scoring >= threshold.
* ``val/fp_per_hour``: event-level false accepts per hour (activations separated by a
  refractory period) on the stream when given; otherwise every held-out negative clip that
  scores >= threshold is one false accept and each clip counts ``clip_duration_s`` of audio
  (with ``negative_windows_per_clip`` > 1 a clip's score is the highest of its windows).
* ``val/fp_per_hour_frames``: openWakeWord's frame-level figure (every window >= threshold).
* ``val/accuracy``: balanced accuracy over positive and negative clips.
* ``val/selection``: the score that picks the exported checkpoint: recall minus a false-accept
  penalty. On held-out clips the penalty is ``3 x`` the share of negative clips accepted (a few
  hundred clips cannot resolve a 0.2/hour target: one false accept is already ~6/hour, so a
  hard "FP/hour <= target" rule would always pick the most timid checkpoint); on a continuous
  stream it is ``min(1, fp_per_hour / (10 x target))``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from lightning.pytorch import LightningModule
from torch import nn

GROUP_POSITIVE, GROUP_NEGATIVE, GROUP_STREAM = 0, 1, 2


class WakeWordLitModule(LightningModule):
    def __init__(
        self,
        head: nn.Module,
        model_type: str = "dnn",
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-2,
        warmup_fraction: float = 0.1,
        max_negative_weight: float = 1500.0,
        negative_weight_ramp_fraction: float = 0.5,
        target_false_positives_per_hour: float = 0.2,
        threshold: float = 0.5,
        refractory_s: float = 2.0,
        clip_duration_s: float = 2.0,
        stream_frame_s: float = 0.08,
        negative_windows_per_clip: int = 1,
        hard_example_mining: bool = True,
        max_fp_boost: float = 8.0,
        mixup_alpha: float = 0.0,
        p_frame_mask: float = 0.0,
        frame_mask_max: int = 4,
        feature_noise: float = 0.0,
        p_dim_mask: float = 0.0,
        dim_mask_max: int = 8,
        frame_mask_rows: str = "all",
    ) -> None:
        super().__init__()
        if frame_mask_rows not in ("all", "negative", "positive"):
            from wakeforge.core.errors import ConfigError

            raise ConfigError(f"model.frame_mask_rows={frame_mask_rows!r}: use all, negative or positive")
        self.save_hyperparameters(ignore=["head"])
        self.head = head
        # Doubles while validation FP/hour is above target; a buffer so it survives resume.
        self.register_buffer("fp_boost", torch.tensor(1.0))
        self._val: dict[str, list[torch.Tensor]] = {"scores": [], "groups": []}
        self.loss_fn = nn.BCELoss(reduction="none")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)

    # --- training -------------------------------------------------------------------------
    def negative_weight(self) -> float:
        hp = self.hparams
        total = max(1, int(self.trainer.max_steps) if self._trainer is not None else 1)
        ramp = max(1.0, hp.negative_weight_ramp_fraction * total)
        frac = min(1.0, self.global_step / ramp)
        return float((1.0 + (hp.max_negative_weight - 1.0) * frac) * float(self.fp_boost))

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        x, y = batch[0], batch[1]
        x = x.float()
        y = y.float().view(-1)
        hp = self.hparams
        if hp.mixup_alpha > 0 or hp.p_frame_mask > 0 or hp.feature_noise > 0 or hp.p_dim_mask > 0:
            from wakeforge.training.models.feature_augment import augment_features

            x, y = augment_features(
                x, y, mixup_alpha=hp.mixup_alpha, p_frame_mask=hp.p_frame_mask,
                frame_mask_max=hp.frame_mask_max, feature_noise=hp.feature_noise,
                frame_mask_rows=hp.frame_mask_rows, p_dim_mask=hp.p_dim_mask, dim_mask_max=hp.dim_mask_max,
            )
        member_outputs = getattr(self.head, "member_outputs", None)
        if member_outputs is not None and getattr(self.head, "n_members", 1) > 1:
            # An ensemble head: every member gets its own loss (its own hard examples), so the
            # members stay distinct networks rather than one wider one.
            k = int(self.head.n_members)
            p = member_outputs(x).reshape(-1).clamp(1e-7, 1 - 1e-7)  # [B * k], row-major
            y = y.repeat_interleave(k)
        else:
            k = 1
            p = self.head(x).view(-1).clamp(1e-7, 1 - 1e-7)
        w_neg = self.negative_weight()
        # Soft targets (mixup) get the matching mix of the two classes' weights.
        weights = y + (1.0 - y) * w_neg
        if len(batch) > 2:  # per-example penalty weights from the data sources
            weights = weights * batch[2].float().view(-1).repeat_interleave(k)
        losses = self.loss_fn(p, y) * weights
        if self.hparams.hard_example_mining:
            with torch.no_grad():
                hard = ((y > 0.5) & (p < 0.999)) | ((y <= 0.5) & (p >= 0.001))
            loss = (losses * hard).sum() / (weights * hard).sum().clamp_min(1.0)
        else:
            loss = losses.sum() / weights.sum().clamp_min(1.0)
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=False, batch_size=len(x))
        self.log("train/negative_weight", w_neg, on_step=True, on_epoch=False, batch_size=len(x))
        return loss

    # --- validation -----------------------------------------------------------------------
    def on_validation_epoch_start(self) -> None:
        self._val = {"scores": [], "groups": []}

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        x, groups = batch[0], batch[-1]
        scores = self.head(x.float()).view(-1)
        self._val["scores"].append(scores.detach().float().cpu())
        self._val["groups"].append(groups.detach().view(-1).cpu())

    def on_validation_epoch_end(self) -> None:
        if not self._val["scores"]:
            return
        scores = torch.cat(self._val["scores"])
        groups = torch.cat(self._val["groups"])
        # Under DDP every rank validates the whole set (trainer.use_distributed_sampler=false in
        # conf/trainer/ddp.yaml) so the FP stream stays in order; the metrics agree across ranks.
        metrics = validation_metrics(
            scores.numpy(),
            groups.numpy(),
            threshold=self.hparams.threshold,
            target_fp_per_hour=self.hparams.target_false_positives_per_hour,
            refractory_s=self.hparams.refractory_s,
            clip_duration_s=self.hparams.clip_duration_s,
            stream_frame_s=self.hparams.stream_frame_s,
            negative_windows_per_clip=self.hparams.negative_windows_per_clip,
        )
        for k, v in metrics.items():
            self.log(f"val/{k}", float(v), prog_bar=k in ("recall", "fp_per_hour"), sync_dist=self.trainer.world_size > 1)
        if metrics["fp_per_hour"] > self.hparams.target_false_positives_per_hour and not self.trainer.sanity_checking:
            self.fp_boost.mul_(2.0).clamp_(max=float(self.hparams.max_fp_boost))
        self.log("train/fp_boost", float(self.fp_boost))

    # --- optimisation ---------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        opt = torch.optim.AdamW(self.parameters(), lr=hp.learning_rate, weight_decay=hp.weight_decay)
        total = max(1, int(self.trainer.max_steps) if self.trainer.max_steps and self.trainer.max_steps > 0 else 1000)
        warm = max(1, int(hp.warmup_fraction * total))

        def lr_lambda(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            progress = min(1.0, (step - warm) / max(1, total - warm))
            return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def validation_metrics(
    scores: Any,
    groups: Any,
    *,
    threshold: float,
    target_fp_per_hour: float,
    refractory_s: float,
    clip_duration_s: float,
    stream_frame_s: float = 0.08,
    negative_windows_per_clip: int = 1,
) -> dict[str, float]:
    """Recall, FP/hour (event and frame level), balanced accuracy and the selection score.

    Example:
        >>> import numpy as np
        >>> s = np.array([0.9, 0.2, 0.1, 0.7] + [0.0] * 10 + [0.9] * 10 + [0.0] * 20)
        >>> g = np.array([0, 0, 1, 1] + [2] * 40)
        >>> m = validation_metrics(s, g, threshold=0.5, target_fp_per_hour=1.0,
        ...                        refractory_s=2.0, clip_duration_s=2.0)
        >>> m["recall"], m["fp_per_hour"] > 0
        (0.5, True)
    """
    import numpy as np

    from wakeforge.core.metrics import count_activations

    scores = np.asarray(scores, dtype=np.float64)
    groups = np.asarray(groups)
    pos = scores[groups == GROUP_POSITIVE]
    neg = scores[groups == GROUP_NEGATIVE]
    k = max(1, int(negative_windows_per_clip))
    if k > 1 and neg.size >= k:
        # k consecutive windows per negative clip (the window sliding over it): a clip is
        # accepted when any of its windows is, as in the streaming detector.
        neg = neg[: neg.size // k * k].reshape(-1, k).max(axis=1)
    stream = scores[groups == GROUP_STREAM]
    recall = float((pos >= threshold).mean()) if pos.size else 0.0
    tnr = float((neg < threshold).mean()) if neg.size else 1.0
    if stream.size:
        hours = stream.size * stream_frame_s / 3600.0
        refractory_frames = max(1, int(round(refractory_s / stream_frame_s)))
        events = count_activations(stream, threshold, refractory_frames)
        frames = int((stream >= threshold).sum())
    else:
        hours = max(neg.size, 1) * clip_duration_s / 3600.0
        events = int((neg >= threshold).sum())
        frames = events
    fp = events / hours
    if stream.size:
        penalty = min(1.0, fp / (10.0 * max(target_fp_per_hour, 1e-9)))
    else:
        penalty = 3.0 * events / max(neg.size, 1)
    selection = recall - penalty
    return {
        "recall": recall,
        "fp_per_hour": float(fp),
        "fp_per_hour_frames": float(frames / hours),
        "false_accepts": float(events),
        "negative_hours": float(hours),
        "accuracy": 0.5 * (recall + tnr),
        "selection": float(selection),
    }
