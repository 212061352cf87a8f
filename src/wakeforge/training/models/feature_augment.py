"""Feature-level augmentation of training batches (``[B, 16, 96]`` embedding windows).

Stage 2 augments audio once per clip; these transforms run on every training batch, so the
head never sees the same positive row twice in the same form (2000 positive rows are seen ~100
times each in a default run). Written here rather than taken from a library: SpecAugment
implementations (torchaudio's ``FrequencyMasking``/``TimeMasking``) work on spectrograms, and
these rows are openWakeWord embeddings, where masking means "replace with what another window
holds at the same place", and mixup needs the label and loss weight mixed with the rows.

* ``mixup_alpha`` > 0: each row is mixed with a random row of the batch,
  ``x = lam * x_i + (1 - lam) * x_j`` with ``lam ~ Beta(a, a)`` folded to ``>= 0.5`` (a row stays
  closer to itself), and its target becomes ``lam * y_i + (1 - lam) * y_j``.
* ``p_frame_mask`` > 0: with that probability a row's ``1..frame_mask_max`` consecutive frames
  are replaced by the same frames of a random *negative* row of the batch (real speakers put
  different sounds before, after and inside the phrase; labels are kept). ``frame_mask_rows``
  limits it to the negative or the positive rows (``"all"``: any row).
* ``p_dim_mask`` > 0: with that probability 1..``dim_mask_max`` randomly chosen embedding
  dimensions of a row (over all its frames) are replaced by those of a random negative row
  (SpecAugment's frequency masking carried to embeddings, whose dimensions have no order).
* ``feature_noise`` > 0: Gaussian noise of that many standard deviations of the batch's
  features is added to every row.
"""

from __future__ import annotations

import torch


def augment_features(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    mixup_alpha: float = 0.0,
    p_frame_mask: float = 0.0,
    frame_mask_max: int = 4,
    frame_mask_rows: str = "all",
    feature_noise: float = 0.0,
    p_dim_mask: float = 0.0,
    dim_mask_max: int = 8,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augmented copies of a batch.

    Args:
        x: ``[B, F, D]`` float feature rows.
        y: ``[B]`` float targets in [0, 1].

    Returns:
        ``(x', y')`` of the same shapes; ``y'`` is soft where rows were mixed.
    """
    b, f, _ = x.shape
    dev = x.device
    if b < 2:
        return x, y
    g = generator
    # Rows a mask may copy from (frame and dimension masks alike).
    neg = torch.nonzero(y <= 0.5).view(-1)
    if p_frame_mask > 0.0:
        if neg.numel():
            hit = torch.rand(b, generator=g, device=dev) < p_frame_mask
            if frame_mask_rows == "negative":
                hit = hit & (y <= 0.5)
            elif frame_mask_rows == "positive":
                hit = hit & (y > 0.5)
            length = torch.randint(1, max(1, int(frame_mask_max)) + 1, (b,), generator=g, device=dev)
            start = (torch.rand(b, generator=g, device=dev) * (f - length + 1)).long()
            frames = torch.arange(f, device=dev).view(1, f)
            mask = hit.view(b, 1) & (frames >= start.view(b, 1)) & (frames < (start + length).view(b, 1))
            donor = neg[torch.randint(0, neg.numel(), (b,), generator=g, device=dev)]
            x = torch.where(mask.unsqueeze(-1), x[donor], x)
    if p_dim_mask > 0.0:
        if neg.numel():
            d = x.shape[2]
            hit = torch.rand(b, generator=g, device=dev) < p_dim_mask
            count = torch.randint(1, min(d, max(1, int(dim_mask_max))) + 1, (b,), generator=g, device=dev)
            # A random permutation's ranks per row: the dims ranked below ``count`` are masked.
            rank = torch.rand(b, d, generator=g, device=dev).argsort(dim=1).argsort(dim=1)
            mask = hit.view(b, 1) & (rank < count.view(b, 1))
            donor = neg[torch.randint(0, neg.numel(), (b,), generator=g, device=dev)]
            x = torch.where(mask.unsqueeze(1), x[donor], x)
    if mixup_alpha > 0.0:
        beta = torch.distributions.Beta(float(mixup_alpha), float(mixup_alpha))
        # Beta has no generator argument: draw with the global RNG (seeded by Lightning).
        lam = beta.sample((b,)).to(dev)
        lam = torch.maximum(lam, 1.0 - lam)
        perm = torch.randperm(b, generator=g, device=dev) if g is not None else torch.randperm(b, device=dev)
        x = lam.view(b, 1, 1) * x + (1.0 - lam.view(b, 1, 1)) * x[perm]
        y = lam * y + (1.0 - lam) * y[perm]
    if feature_noise > 0.0:
        scale = x.detach().std().clamp_min(1e-6) * float(feature_noise)
        x = x + torch.randn(x.shape, generator=g, device=dev) * scale
    return x, y
