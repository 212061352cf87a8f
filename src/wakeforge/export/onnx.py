"""PyTorch head -> ONNX in openWakeWord's format (opset 13, input ``[1, 16, 96]`` float32).

The legacy TorchScript exporter (``dynamo=False``) is used: it needs only ``onnx``, takes
~0.1 s and produces opset 13 like the official heads (DESIGN.md). The batch axis is dynamic so
evaluation can score many windows at once; openWakeWord feeds batch 1.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path

import torch
from torch import nn

from wakeforge.utils.atomic import write_bytes_atomic

INPUT_NAME = "input"
OUTPUT_NAME = "output"


def export_onnx(head: nn.Module, path: str | Path, n_frames: int = 16, embedding_dim: int = 96, opset: int = 13) -> Path:
    """Write ``head`` as ONNX to ``path`` atomically and return the path."""
    model = copy.deepcopy(head).cpu().eval()
    example = torch.zeros(1, n_frames, embedding_dim)
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example,),
            buf,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
    return write_bytes_atomic(path, buf.getvalue())


def run_onnx(path: str | Path, x: "torch.Tensor | object") -> "object":
    """Scores ``[N, 1]`` of an ONNX head on ``x`` ``[N, 16, 96]`` (numpy float32)."""
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    arr = np.asarray(x, dtype=np.float32)
    return sess.run(None, {name: arr})[0]
