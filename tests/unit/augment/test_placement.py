from __future__ import annotations

import numpy as np
import pytest
import torch

from wakeforge.augment.placement import place_clips, window_samples

SR = 16_000


def _max_zero_run(x: torch.Tensor) -> int:
    best = run = 0
    for v in (x == 0).tolist():
        run = run + 1 if v else 0
        best = max(best, run)
    return best


@pytest.mark.parametrize("jitter", [(0.0, 0.2), (0.05, 0.1), (0.0, 0.0)])
def test_end_mode_puts_clip_end_in_jitter_range(jitter):
    clips = [np.full(n, 0.5, np.float32) for n in (4000, 12000, 20000, 31000)] * 4
    out, offsets = place_clips(clips, 32000, "end", jitter, rng=0, return_offsets=True)
    assert out.shape == (16, 32000) and out.dtype == torch.float32
    for i, clip in enumerate(clips):
        end = int((out[i].abs() > 0.25).nonzero().max()) + 1  # measured from the signal
        gap_s = (32000 - end) / SR
        assert jitter[0] - 1e-4 <= gap_s <= jitter[1] + 1e-4
        assert int(offsets[i]) + clip.size == end


def test_random_mode_spreads_negatives_and_crops_long_clips():
    clips = [np.full(8000, 0.5, np.float32)] * 32 + [np.full(40000, 0.5, np.float32)]
    out, offsets = place_clips(clips, 32000, "random", rng=1, return_offsets=True)
    starts = offsets[:32]
    assert int(starts.min()) >= 0 and int(starts.max()) <= 24000
    assert float(starts.float().std()) > 3000  # not all at the end
    assert int(offsets[32]) <= 0 and bool((out[32].abs() > 0.25).all())


def test_no_exact_zero_runs_even_for_int16_clips_with_silence():
    clip = np.zeros(16000, np.int16)
    clip[4000:8000] = 8000
    for bank in (None, torch.randn(3, 20000) * 0.1):
        out = place_clips([clip, clip], 32000, "end", rng=2, background=bank)
        assert all(_max_zero_run(row) <= 1 for row in out)
        floor_db = 20 * torch.log10(out[:, :8000].pow(2).mean(dim=1).sqrt())
        assert bool(((floor_db > -61) & (floor_db < -39)).all())


def test_same_seed_same_windows_and_range_kept():
    clips = [
        np.full(8000, 0.99, np.float32),
        np.random.default_rng(0).uniform(-1, 1, 9000).astype(np.float32),
    ]
    a = place_clips(clips, 32000, "end", rng=3)
    b = place_clips(clips, 32000, "end", rng=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert float(a.abs().max()) <= 1.0


def test_window_samples_follows_openwakeword_rule():
    assert window_samples([8000, 16000]) == 32000  # at least 2 s
    n = window_samples([24000, 26000, 28000])  # median 1.625 s + 0.75 s
    assert n % 1280 == 0 and 26000 + 12000 <= n < 26000 + 12000 + 1280
