"""openWakeWord's frozen feature models: assets, extractors (ONNX reference, torch port), store.

Imports are lazy so ``import wakeforge.features`` does not pull in torch or onnxruntime.

Public API:
    - :func:`feature_model_paths`, :class:`FeatureModelPaths`, :func:`default_cache_dir`,
      :func:`reference_model_path`, :func:`list_reference_models` (``features.assets``)
    - :class:`OnnxFeatureExtractor`, :func:`n_frames` (``features.onnx_extractor``)
    - :class:`TorchFeatureExtractor` (``features.torch_extractor``)
    - :class:`FeatureWriter`, :func:`open_features` (``features.store``)
"""

from __future__ import annotations


from wakeforge.utils.lazy import lazy_exports

_EXPORTS = {
    "FeatureModelPaths": "assets",
    "default_cache_dir": "assets",
    "feature_model_paths": "assets",
    "list_reference_models": "assets",
    "reference_model_path": "assets",
    "OnnxFeatureExtractor": "onnx_extractor",
    "n_frames": "onnx_extractor",
    "TorchFeatureExtractor": "torch_extractor",
    "FeatureWriter": "store",
    "open_features": "store",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
