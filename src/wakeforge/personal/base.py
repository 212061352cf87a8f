"""The trained model to adapt: its card, its head with its weights, its training features.

The model may come from someone else, so nothing in it runs: the head class is picked from a
fixed list by the card's ``model.head._target_`` (never imported from the file), its sizes are
read as integers, and the weights come from the run's ``last.ckpt`` loaded with
``torch.load(weights_only=True)`` or, without a checkpoint, from the ONNX file's initializers
(plain tensors in a protobuf). Either way they must reproduce the exported ONNX scores.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from wakeforge.core.errors import WakeforgeError

log = logging.getLogger(__name__)

#: Head classes a card may name (``model.head._target_``); nothing else is instantiated.
HEADS = {
    "wakeforge.training.models.heads.DNNHead": "DNNHead",
    "wakeforge.training.models.heads.RNNHead": "RNNHead",
    # Cards written before the heads moved into wakeforge.training (issue #15).
    "wakeforge.models.heads.DNNHead": "DNNHead",
    "wakeforge.models.heads.RNNHead": "RNNHead",
}
#: Largest model card read (a hostile file could be huge).
MAX_CARD_BYTES = 5_000_000
#: Largest difference between the loaded head's scores and the ONNX file's.
PARITY_TOLERANCE = 1e-4


@dataclass
class BaseModel:
    """A trained wakeforge model ready to fine-tune."""

    onnx: Path
    work_dir: Path
    card: dict[str, Any]
    head: nn.Module
    weights_from: str
    lit_state: dict[str, Any] = field(default_factory=dict)  # e.g. fp_boost

    @property
    def config(self) -> dict[str, Any]:
        cfg = self.card.get("config")
        return cfg if isinstance(cfg, dict) else {}

    @property
    def model_name(self) -> str:
        return str(self.card.get("model_name") or self.onnx.stem)

    @property
    def phrase(self) -> Any:
        return self.card.get("phrase")

    @property
    def threshold(self) -> float:
        t = self.card.get("recommended_threshold", 0.5)
        return float(t) if isinstance(t, (int, float)) and 0.0 < float(t) < 1.0 else 0.5

    def section(self, *keys: str) -> dict[str, Any]:
        node: Any = self.config
        for k in keys:
            node = node.get(k) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}


def find_model(path: str | os.PathLike[str]) -> Path:
    """The ``.onnx`` file of a model given as the file or its folder."""
    p = Path(os.path.expanduser(str(path)))
    if p.is_dir():
        found = sorted(p.glob("*.onnx"))
        named = [f for f in found if f.stem == p.name]
        if named or len(found) == 1:
            return (named or found)[0]
        raise WakeforgeError(
            f"finetune.init_from: {p} holds {len(found)} .onnx files; pass the model file itself"
            if found else f"finetune.init_from: no .onnx model in {p}; pass a trained wakeforge model (its .onnx or its folder)")
    if p.suffix != ".onnx" or not p.is_file():
        raise WakeforgeError(f"finetune.init_from: {p} is not an .onnx model file; pass a trained wakeforge model "
                             "(data/detection/<name>/<name>.onnx or that folder)")
    return p


def read_card(onnx: Path) -> dict[str, Any]:
    card = onnx.with_suffix(".json")
    if not card.is_file():
        raise WakeforgeError(f"{onnx}: no model card {card.name} beside it; personalize adapts models trained by wakeforge")
    if card.stat().st_size > MAX_CARD_BYTES:
        raise WakeforgeError(f"{card}: {card.stat().st_size} bytes is too large for a model card; check the file")
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise WakeforgeError(f"{card}: not a valid model card ({exc}); retrain or restore the file") from None
    if not isinstance(data, dict):
        raise WakeforgeError(f"{card}: not a valid model card; retrain or restore the file")
    return data


def build_head(card: dict[str, Any]) -> nn.Module:
    """A fresh head of the card's type and sizes (integers only; nothing imported from the card)."""
    from wakeforge.training.models import heads

    head_cfg = ((card.get("config") or {}).get("model") or {}).get("head") or {}
    if not isinstance(head_cfg, dict):
        head_cfg = {}
    target = str(head_cfg.get("_target_", "wakeforge.training.models.heads.DNNHead"))
    if target not in HEADS:
        raise WakeforgeError(f"model card names head {target!r}; personalize adapts wakeforge's own heads "
                             f"({', '.join(sorted(HEADS))})")
    cls = getattr(heads, HEADS[target])
    params = inspect.signature(cls).parameters
    kwargs = {}
    for k, v in head_cfg.items():
        if k not in params or k == "_target_":
            continue
        if isinstance(v, bool):
            kwargs[k] = v
        elif isinstance(v, (int, float)) and float(v) == int(v) and 0 < int(v) <= 4096:
            kwargs[k] = int(v)
        else:
            raise WakeforgeError(f"model card: model.head.{k}={v!r} is not a head setting wakeforge writes; check the card")
    return cls(**kwargs)


def _checkpoints(work_dir: Path) -> list[Path]:
    found = list((work_dir / "checkpoints").glob("*/last.ckpt"))
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _onnx_state(onnx: Path) -> dict[str, torch.Tensor]:
    import onnx as onnx_lib
    from onnx import numpy_helper

    model = onnx_lib.load(str(onnx), load_external_data=False)
    return {init.name: torch.from_numpy(numpy_helper.to_array(init).copy()) for init in model.graph.initializer}


def _parity(head: nn.Module, onnx: Path) -> float:
    from wakeforge.export.onnx import run_onnx
    from wakeforge.export.parity import parity_inputs

    x = parity_inputs(32, getattr(head, "n_frames", 16))
    with torch.no_grad():
        ours = head.eval()(torch.from_numpy(x)).numpy().reshape(-1)
    theirs = np.asarray(run_onnx(onnx, x)).reshape(-1)
    return float(np.max(np.abs(ours - theirs)))


def load_base(path: str | os.PathLike[str]) -> BaseModel:
    """Load the model at ``path`` (``.onnx`` or its folder) with weights that match its ONNX file.

    Raises:
        WakeforgeError: no card, an unknown head, or no weights that reproduce the ONNX scores.
    """
    from wakeforge.training.callbacks.resume import load_plain_checkpoint

    onnx = find_model(path)
    card = read_card(onnx)
    work_dir = onnx.parent
    tried: list[str] = []
    for ckpt in _checkpoints(work_dir):
        head = build_head(card)
        try:
            state = load_plain_checkpoint(ckpt)["state_dict"]
            head.load_state_dict({k[len("head."):]: v for k, v in state.items() if k.startswith("head.")})
        except WakeforgeError:
            raise
        except Exception as exc:  # noqa: BLE001 - a stale or other-shaped checkpoint: try the next
            tried.append(f"{ckpt.parent.name}: {type(exc).__name__}")
            continue
        diff = _parity(head, onnx)
        if diff <= PARITY_TOLERANCE:
            lit = {k: v for k, v in state.items() if not k.startswith("head.")}
            return BaseModel(onnx, work_dir, card, head.train(), f"checkpoint {ckpt.parent.name}/last.ckpt", lit)
        tried.append(f"{ckpt.parent.name}: scores differ from the ONNX file by {diff:.1e}")
    head = build_head(card)
    state = _onnx_state(onnx)
    own = head.state_dict()
    if set(own) <= set(state) and all(tuple(state[k].shape) == tuple(v.shape) for k, v in own.items()):
        head.load_state_dict({k: state[k] for k in own})
        diff = _parity(head, onnx)
        if diff <= PARITY_TOLERANCE:
            return BaseModel(onnx, work_dir, card, head.train(), "onnx weights")
        tried.append(f"ONNX weights: scores differ by {diff:.1e}")
    else:
        tried.append("ONNX weights: names do not match the head")
    raise WakeforgeError(
        f"{onnx}: found no weights that reproduce the model's scores ({'; '.join(tried) or 'no checkpoint'}); "
        "pass the model folder of the wakeforge run that trained it")


__all__ = ["BaseModel", "load_base", "build_head", "find_model"]
