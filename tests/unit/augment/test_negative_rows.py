"""Negative clips as the streaming detector sees them: k rows per clip, the window sliding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wakeforge.augment.featurize import ClipFeaturizer, seeded_generator
from wakeforge.augment.placement import place_clips
from wakeforge.training.models.lit_module import GROUP_NEGATIVE, GROUP_POSITIVE, validation_metrics

from .conftest import tone


@pytest.fixture(scope="module")
def extractor():
    from wakeforge.features.assets import feature_model_paths
    from wakeforge.features.torch_extractor import TorchFeatureExtractor

    return TorchFeatureExtractor(feature_model_paths())


def test_rows_slide_over_one_long_window(extractor):
    k, hop = 4, 2
    f = ClipFeaturizer(torch.nn.Identity(), extractor, 32000, negative_windows=k, negative_hop_frames=hop)
    clips = [tone(0.6, 500.0), tone(1.2, 800.0, amp=0.3), tone(0.4, 300.0)]
    rows = f.negative_rows(clips, seeded_generator(1, 2), augment=False)
    assert rows.shape == (3 * k, 16, 96)

    # The same draws by hand: one long window per clip, its end 0-200 ms before the first
    # row's window end up to the last row's window end.
    extra = (k - 1) * hop * 1280
    long, offsets = place_clips(clips, 32000 + extra, mode="end", end_jitter_s=(0.0, 0.2 + extra / 16000),
                                rng=seeded_generator(1, 2), return_offsets=True)
    for i, c in enumerate(clips):
        end = int(offsets[i]) + len(c)
        assert 32000 - int(0.2 * 16000) <= end <= 32000 + extra
    # Row j of a clip is the last 16 frames of the stretch ending j * hop frames later,
    # featurised on its own (the embedding model is convolutional in time).
    with torch.no_grad():
        for j in range(k):
            stop = 32000 + j * hop * 1280
            own = extractor(long[:, :stop])[:, -16:]
            got = rows.reshape(3, k, 16, 96)[:, j]
            assert torch.allclose(got, own, atol=2e-3), (j, float((got - own).abs().max()))
    # Rows of one clip differ (they see different stretches).
    r0 = rows.reshape(3, k, 16, 96)[0]
    assert float((r0[0] - r0[-1]).abs().max()) > 0.1


def test_one_window_per_clip_is_the_mixed_placement(extractor):
    f = ClipFeaturizer(torch.nn.Identity(), extractor, 32000, negative_windows=1)
    clips = [tone(0.5), tone(0.7, 600.0)]
    a = f.negative_rows(clips, seeded_generator(3), augment=False)
    b = f(clips, "mixed", seeded_generator(3), augment=False)
    assert a.shape == (2, 16, 96) and torch.equal(a, b)


def test_validation_counts_a_clip_once_over_its_windows():
    # 3 positive clips (2 detected); 3 negative clips x 4 windows: clip 0 fires in two windows,
    # clip 2 in one -> 2 false accepts over 3 clips x 2 s.
    pos = [0.9, 0.8, 0.1]
    neg = [0.1, 0.7, 0.9, 0.2] + [0.0] * 4 + [0.0, 0.0, 0.0, 0.6]
    scores = np.array(pos + neg)
    groups = np.array([GROUP_POSITIVE] * 3 + [GROUP_NEGATIVE] * 12)
    m = validation_metrics(scores, groups, threshold=0.5, target_fp_per_hour=1.0, refractory_s=2.0,
                           clip_duration_s=2.0, negative_windows_per_clip=4)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["false_accepts"] == 2
    assert m["negative_hours"] == pytest.approx(3 * 2.0 / 3600)
    assert m["selection"] == pytest.approx(2 / 3 - 3 * 2 / 3)
    # Read as one window per clip, the same scores count 3 accepted windows of 12.
    m1 = validation_metrics(scores, groups, threshold=0.5, target_fp_per_hour=1.0, refractory_s=2.0,
                            clip_duration_s=2.0)
    assert m1["false_accepts"] == 3
