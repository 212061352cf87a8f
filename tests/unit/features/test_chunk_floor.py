"""features.floor=chunk: training features equal the streaming detector's at any noise floor."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wakeforge.evaluation.streaming import StreamingFeatures, to_int16

SR = 16000


def _window(floor_dbfs: float | None, rng: np.random.Generator, n: int = 32000 + 1280) -> np.ndarray:
    """A tone burst in noise at ``floor_dbfs`` (None: digital silence), as int16-exact floats."""
    x = (np.zeros(n, np.float32) if floor_dbfs is None
         else rng.normal(0, 10 ** (floor_dbfs / 20), n).astype(np.float32))
    t = np.arange(12000) / SR
    x[12000:24000] += (0.3 * np.sin(2 * np.pi * 300 * t) * np.hanning(12000)).astype(np.float32)
    return to_int16(x)


@pytest.fixture(scope="module")
def streaming(feature_paths):
    return StreamingFeatures(feature_paths)


@pytest.mark.parametrize("floor_dbfs", [-40.0, -60.0, -85.0, None])
def test_chunk_floor_equals_streaming_detector(feature_paths, streaming, floor_dbfs):
    """Batch features of a window = the detector's embeddings after each of its chunks.

    The detector's chunk i holds mel frames 8i-3 .. 8i+4 of the stream; shifting the window by
    one hop (160 samples) puts the batch extractor's 76-frame windows on the same frames.
    """
    from wakeforge.features.torch_extractor import TorchFeatureExtractor

    audio = _window(floor_dbfs, np.random.default_rng(0))
    n_init = len(streaming.initial_embeddings)
    stream = streaming.stream(audio)[n_init:]                  # one embedding per chunk
    x = torch.from_numpy(audio[160 : 160 + 32000].astype(np.float32) / 32768.0)[None]
    chunk = TorchFeatureExtractor(feature_paths, floor="chunk")(x)[0].numpy()
    clip = TorchFeatureExtractor(feature_paths, floor="clip")(x)[0].numpy()
    ref = stream[9 : 9 + len(chunk)]
    assert chunk.shape == (16, 96)
    assert float(np.abs(chunk - ref).max()) < 1e-3
    if floor_dbfs is not None and floor_dbfs >= -60:
        # over a noisy floor the per-clip floor never bites: both modes agree
        assert float(np.abs(clip - ref).max()) < 1e-3
    else:
        # quiet rooms and digital silence: the per-clip floor is far from what the detector sees
        assert float(np.abs(clip - ref).max()) > 5.0


def test_bad_floor_mode(feature_paths):
    from wakeforge.core.errors import WakeforgeError
    from wakeforge.features.torch_extractor import TorchFeatureExtractor

    with pytest.raises(WakeforgeError, match="features.floor"):
        TorchFeatureExtractor(feature_paths, floor="window")
