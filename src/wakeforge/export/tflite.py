"""PyTorch head -> TFLite with litert-torch (no TensorFlow, no onnx-tf).

openWakeWord's own route (onnx -> onnx-tf -> SavedModel -> TFLite) is broken on current
packages (onnx-tf imports ``onnx.mapping``, gone since onnx 1.15; tensorflow-addons fails under
Keras 3). ``litert_torch.convert`` lowers the module directly to a TFLite flatbuffer with builtin
ops; the input must be static ``[1, 16, 96]`` (dynamic batch fails), which is what openWakeWord
feeds. LSTM heads come out unrolled into builtin ops, so openWakeWord's TFLite runtime loads them.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from wakeforge.core.errors import WakeforgeError
from wakeforge.utils.atomic import atomic_path

log = logging.getLogger(__name__)


def export_tflite(head: nn.Module, path: str | Path, n_frames: int = 16, embedding_dim: int = 96) -> Path:
    """Convert ``head`` to a TFLite file at ``path`` (atomic) and return the path."""
    from wakeforge.utils.console import native_stderr_filtered

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_filtered():
        try:
            import litert_torch
        except ImportError as exc:  # pragma: no cover - installed by requirements.txt
            raise WakeforgeError(
                f"TFLite export needs litert-torch ({exc}); run `make venv` or pass callbacks.export.tflite=false"
            ) from None
        model = copy.deepcopy(head).cpu().eval()
        example = (torch.zeros(1, n_frames, embedding_dim),)
        with _quiet_converter():
            edge = litert_torch.convert(model, example)
            with atomic_path(path) as tmp:
                edge.export(tmp)
    return Path(path)


@contextlib.contextmanager
def _quiet_converter() -> Iterator[None]:
    """litert-torch prints a progress tree and logs every lowering at INFO on the root logger;
    keep our log readable (errors still raise)."""
    root = logging.getLogger()
    level = root.level
    console = None
    try:
        from litert_torch import progress

        console = progress.console
        console.quiet = True
    except Exception:  # pragma: no cover - internal API may move
        pass
    root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)
        if console is not None:
            console.quiet = False


def run_tflite(path: str | Path, x: np.ndarray) -> np.ndarray:
    """Scores ``[N, 1]`` of a TFLite head on ``x`` ``[N, 16, 96]``, one window at a time."""
    from ai_edge_litert.interpreter import Interpreter

    from wakeforge.utils.console import native_stderr_filtered

    with native_stderr_filtered():
        interp = Interpreter(model_path=str(path), num_threads=1)
        interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    res = []
    for row in np.asarray(x, dtype=np.float32):
        interp.set_tensor(inp["index"], row[None])
        interp.invoke()
        res.append(interp.get_tensor(out["index"]).reshape(1, -1).copy())
    return np.concatenate(res, axis=0)


__all__ = ["export_tflite", "run_tflite"]
