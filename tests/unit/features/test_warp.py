"""Vocal-tract length perturbation of the feature front end's power spectrum."""

from __future__ import annotations

import torch

from wakeforge.features.torch_extractor import warp_power


def test_factor_one_is_identity_and_a_peak_moves_by_the_factor():
    power = torch.zeros(3, 5, 257)
    power[:, :, 50] = 1.0
    out = warp_power(power, torch.tensor([1.0, 1.2, 0.8]))
    assert torch.allclose(out[0], power[0])
    assert int(out[1, 0].argmax()) == 60  # formant up: bin k takes bin k / 1.2
    assert int(out[2, 0].argmax()) == 40
    # frames are warped alike, and energy stays in one place (no smearing beyond neighbours)
    assert torch.equal(out[1, 0], out[1, 4])
    assert float(out[1, 0, 58:63].sum()) > 0.99 * float(out[1, 0].sum())


def test_featurizer_warps_only_when_augmenting():
    from wakeforge.augment.featurize import ClipFeaturizer

    calls = []

    class Recorder(torch.nn.Module):
        def forward(self, x, warp=None):
            calls.append(warp)
            return torch.zeros(len(x), 16, 96)

    class NoAugment(torch.nn.Module):
        def forward(self, x, generator=None):
            return x

    f = ClipFeaturizer(NoAugment(), Recorder(), 32000, p_vtlp=1.0, vtlp_factor=(0.9, 1.1))
    g = torch.Generator().manual_seed(0)
    f.features(torch.zeros(4, 32000), g, augment=True)
    f.features(torch.zeros(4, 32000), g, augment=False)
    assert calls[0] is not None and calls[0].shape == (4,)
    assert float(calls[0].min()) >= 0.9 and float(calls[0].max()) <= 1.1 and float(calls[0].std()) > 0
    assert calls[1] is None
