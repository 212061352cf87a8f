"""Feature-level augmentation of training batches: values, not only shapes."""

from __future__ import annotations

import torch

from wakeforge.training.models.feature_augment import augment_features


def _batch(b: int = 32, f: int = 16, d: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, f, d, generator=g)
    y = (torch.arange(b) % 2 == 0).float()  # even rows positive
    return x, y


def test_off_returns_the_batch_unchanged():
    x, y = _batch()
    x2, y2 = augment_features(x, y)
    assert torch.equal(x2, x) and torch.equal(y2, y)


def test_mixup_mixes_rows_and_targets_with_the_same_weight():
    torch.manual_seed(1)
    x, y = _batch()
    x2, y2 = augment_features(x, y, mixup_alpha=0.4, generator=torch.Generator().manual_seed(2))
    # Every new row is lam * row_i + (1 - lam) * row_j for some j, lam >= 0.5; the target follows.
    for i in range(len(x)):
        d = x2[i] - x[i]
        best = None
        for j in range(len(x)):
            if j == i:
                continue
            diff = x[j] - x[i]
            t = float((d * diff).sum() / (diff * diff).sum())  # 1 - lam
            err = float((d - t * diff).abs().max())
            if best is None or err < best[0]:
                best = (err, j, t)
        err, j, t = best
        if float(d.abs().max()) < 1e-6:  # mixed with itself (perm fixed point)
            assert y2[i] == y[i]
            continue
        assert err < 1e-4
        assert -1e-6 <= t <= 0.5 + 1e-6
        assert abs(float(y2[i]) - ((1 - t) * float(y[i]) + t * float(y[j]))) < 1e-4
    assert ((y2 > 0) & (y2 < 1)).any()  # some targets became soft


def test_frame_mask_copies_frames_from_negative_rows_and_keeps_labels():
    x, y = _batch()
    x2, y2 = augment_features(x, y, p_frame_mask=1.0, frame_mask_max=3, generator=torch.Generator().manual_seed(3))
    assert torch.equal(y2, y)
    negatives = x[y <= 0.5]
    for i in range(len(x)):
        changed = (x2[i] != x[i]).any(dim=-1)
        n = int(changed.sum())
        assert 0 <= n <= 3
        idx = torch.nonzero(changed).view(-1)
        if n:
            assert int(idx.max() - idx.min()) + 1 == n  # one consecutive span
            # the span equals the same frames of one negative row
            assert any(torch.equal(x2[i, idx], neg[idx]) for neg in negatives)
    assert sum(int((x2[i] != x[i]).any()) for i in range(len(x))) > len(x) // 2


def test_frame_mask_rows_limits_which_rows_are_masked():
    x, y = _batch()
    for rows, untouched in (("negative", y > 0.5), ("positive", y <= 0.5)):
        x2, _ = augment_features(x, y, p_frame_mask=1.0, frame_mask_max=3, frame_mask_rows=rows,
                                 generator=torch.Generator().manual_seed(6))
        changed = (x2 != x).flatten(1).any(dim=1)
        assert not changed[untouched].any()
        assert changed[~untouched].any()


def test_dim_mask_copies_whole_dimensions_from_negative_rows_and_keeps_labels():
    x, y = _batch()
    x2, y2 = augment_features(x, y, p_dim_mask=1.0, dim_mask_max=5, generator=torch.Generator().manual_seed(5))
    assert torch.equal(y2, y)
    negatives = x[y <= 0.5]
    for i in range(len(x)):
        changed = (x2[i] != x[i]).any(dim=0)  # [D]: dimensions touched in any frame
        idx = torch.nonzero(changed).view(-1)
        assert int(idx.numel()) <= 5
        if idx.numel():
            # every frame of a touched dimension comes from one negative row
            assert any(torch.equal(x2[i][:, idx], neg[:, idx]) for neg in negatives)
    assert sum(int((x2[i] != x[i]).any()) for i in range(len(x))) > len(x) // 2


def test_feature_noise_scales_with_the_batch():
    x, y = _batch()
    x2, _ = augment_features(x, y, feature_noise=0.1, generator=torch.Generator().manual_seed(4))
    ratio = float((x2 - x).std() / x.std())
    assert 0.08 < ratio < 0.12


def test_a_wrong_frame_mask_rows_is_a_config_error_naming_the_choices():
    import pytest

    from wakeforge.core.errors import ConfigError
    from wakeforge.training.models.heads import DNNHead
    from wakeforge.training.models.lit_module import WakeWordLitModule

    head = DNNHead(n_frames=16, embedding_dim=96, layer_size=8)
    with pytest.raises(ConfigError, match="all, negative or positive"):
        WakeWordLitModule(head, frame_mask_rows="negatives")
    assert WakeWordLitModule(head, frame_mask_rows="negative").hparams.frame_mask_rows == "negative"
