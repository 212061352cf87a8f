"""Check that exported files compute what the torch head computes (converters can be silently wrong)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from wakeforge.core.errors import WakeforgeError

#: Max abs difference allowed between torch, ONNX and TFLite scores.
PARITY_TOLERANCE = 1e-4


def parity_inputs(n: int = 100, n_frames: int = 16, embedding_dim: int = 96, seed: int = 0) -> np.ndarray:
    """Random windows shaped like openWakeWord embeddings (values roughly in their range)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, n_frames, embedding_dim)) * 8.0).astype(np.float32)


def check_parity(
    head: nn.Module,
    onnx_path: str | Path | None,
    tflite_path: str | Path | None,
    x: np.ndarray,
    tolerance: float = PARITY_TOLERANCE,
) -> dict[str, float]:
    """Max abs score differences ``onnx_vs_torch``, ``tflite_vs_torch``, ``tflite_vs_onnx``.

    Raises:
        WakeforgeError: a difference exceeds ``tolerance`` (the exported file is wrong).
    """
    from wakeforge.export.onnx import run_onnx
    from wakeforge.export.tflite import run_tflite

    model = head.cpu().eval()
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy().reshape(len(x), -1)
    out: dict[str, float] = {}
    onnx_scores = None
    if onnx_path:
        onnx_scores = np.asarray(run_onnx(onnx_path, x)).reshape(len(x), -1)
        out["onnx_vs_torch"] = float(np.max(np.abs(onnx_scores - ref)))
    if tflite_path:
        tfl = run_tflite(tflite_path, x).reshape(len(x), -1)
        out["tflite_vs_torch"] = float(np.max(np.abs(tfl - ref)))
        if onnx_scores is not None:
            out["tflite_vs_onnx"] = float(np.max(np.abs(tfl - onnx_scores)))
    bad = {k: v for k, v in out.items() if not v <= tolerance}
    if bad:
        raise WakeforgeError(
            f"exported model disagrees with the trained head ({bad}, tolerance {tolerance}); "
            "the converter produced a wrong file: report it and use the .ckpt or the other format"
        )
    out["n_inputs"] = float(len(x))
    return out
