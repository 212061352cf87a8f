"""Wake word heads (``.onnx`` with onnxruntime, ``.tflite`` with ai_edge_litert) as
``windows [N, n_in, 96] -> scores [N]``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from wakeforge.audio.constants import EMBEDDING_DIM
from wakeforge.core.errors import AssetError, WakeforgeError


class _Head(Protocol):
    n_inputs: int
    n_outputs: int

    def __call__(self, windows: np.ndarray) -> np.ndarray: ...


def _single_score(out: np.ndarray) -> np.ndarray:
    """``[N, K]`` head output -> ``[N]`` score (K=1: the value; K>1: max over classes 1..K-1)."""
    out = np.asarray(out, dtype=np.float32).reshape(out.shape[0], -1)
    if out.shape[1] == 1:
        return out[:, 0]
    return out[:, 1:].max(axis=1)


class _OnnxHead:
    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.sess = ort.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            reason = " ".join(str(exc).split())[:200]
            raise AssetError(f"{path}: cannot load ONNX model ({reason}); re-export it") from None
        inp = self.sess.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        if len(shape) != 3 or shape[2] != EMBEDDING_DIM or not isinstance(shape[1], int):
            raise AssetError(
                f"{path}: input shape {shape} is not an openWakeWord head's [1, frames, 96]; "
                "pass a wake word model, not a feature model"
            )
        self.n_inputs = int(shape[1])
        self.dynamic_batch = not isinstance(shape[0], int)
        out_shape = self.sess.get_outputs()[0].shape
        self.n_outputs = int(out_shape[-1]) if isinstance(out_shape[-1], int) else 1

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        windows = np.ascontiguousarray(windows, dtype=np.float32)
        if self.dynamic_batch:
            outs = [self.sess.run(None, {self.input_name: windows[s : s + 1024]})[0]
                    for s in range(0, len(windows), 1024)]
        else:
            outs = [self.sess.run(None, {self.input_name: windows[i : i + 1]})[0]
                    for i in range(len(windows))]
        if not outs:
            return np.zeros(0, np.float32)
        return _single_score(np.concatenate([o.reshape(o.shape[0], -1) for o in outs]))


class _TfliteHead:
    def __init__(self, path: Path) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:  # pragma: no cover - depends on the environment
            try:
                from tflite_runtime.interpreter import Interpreter  # type: ignore[no-redef]
            except ImportError:
                raise WakeforgeError(
                    f"{path}: no TFLite runtime; `pip install ai-edge-litert` or use the .onnx file"
                ) from None
        from wakeforge.utils.console import native_stderr_filtered

        try:
            with native_stderr_filtered():
                self.interp = Interpreter(model_path=str(path), num_threads=1)
                self.interp.allocate_tensors()
        except Exception as exc:
            reason = " ".join(str(exc).split())[:200]
            raise AssetError(f"{path}: cannot load TFLite model ({reason}); re-export it") from None
        inp = self.interp.get_input_details()[0]
        out = self.interp.get_output_details()[0]
        shape = [int(s) for s in inp["shape"]]
        if len(shape) != 3 or shape[2] != EMBEDDING_DIM:
            raise AssetError(
                f"{path}: input shape {shape} is not an openWakeWord head's [1, frames, 96]"
            )
        if inp["dtype"] != np.float32:
            raise AssetError(
                f"{path}: input dtype {np.dtype(inp['dtype']).name}; openWakeWord feeds float32 "
                "(full-integer-input models cannot be used)"
            )
        self.n_inputs = shape[1]
        self.n_outputs = int(out["shape"][-1])
        self._in = inp["index"]
        self._out = out["index"]

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        windows = np.ascontiguousarray(windows, dtype=np.float32)
        res = np.empty((len(windows), self.n_outputs), np.float32)
        for i in range(len(windows)):
            self.interp.set_tensor(self._in, windows[i : i + 1])
            self.interp.invoke()
            res[i] = self.interp.get_tensor(self._out).reshape(-1)
        return _single_score(res)


def load_head(path: str | os.PathLike[str]) -> _Head:
    """Load a wake word head (``.onnx`` or ``.tflite``) as ``windows [N, n_in, 96] -> [N]``.

    Raises:
        AssetError: Missing, unknown-format or unloadable file.
    """
    p = Path(path)
    if not p.is_file():
        raise AssetError(f"{p}: model file not found; check the path or run `python -m "
                         "wakeforge.detect --list` to see the models wakeforge finds")
    suffix = p.suffix.lower()
    if suffix == ".onnx":
        return _OnnxHead(p)
    if suffix == ".tflite":
        return _TfliteHead(p)
    raise AssetError(f"{p}: unknown model format {suffix!r}; pass a .onnx or .tflite file")
