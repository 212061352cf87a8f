"""Small seeded audio for the augmentation tests (no files committed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

SR = 16_000


def tone(seconds: float, freq: float = 440.0, amp: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def windows() -> torch.Tensor:
    """``[8, 32000]`` 2 s windows: a tone burst over a -50 dBFS noise floor."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 32000, generator=g) * 0.003
    t = torch.arange(16000) / SR
    for i in range(8):
        start = 4000 + 1000 * i
        x[i, start : start + 16000] += 0.4 * torch.sin(2 * torch.pi * (300 + 50 * i) * t)
    return x


@pytest.fixture
def noise_bank() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randn(6, 48000, generator=g) * 0.05


@pytest.fixture
def rir_bank() -> torch.Tensor:
    from wakeforge.augment.rir import prepare_rir

    rng = np.random.default_rng(2)
    bank = []
    for _ in range(3):
        h = np.zeros(8000)
        h[100] = 1.0
        h[101:] = rng.normal(0, 0.05, 7899) * np.exp(-np.arange(7899) / 1500)
        bank.append(prepare_rir(h, 8000))
    return torch.from_numpy(np.stack(bank))
