"""Model card: what a model is, how it was trained and how well it did, next to the model files."""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path
from typing import Any

from wakeforge import __version__
from wakeforge.utils.atomic import write_json_atomic


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_model_card(
    path: str | Path,
    *,
    model_name: str,
    phrase: Any,
    files: dict[str, str | Path],
    threshold: float,
    metrics: dict[str, Any],
    parity: dict[str, float],
    config: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``{model_name}.json`` (atomic) beside the exported files."""
    card = {
        "model_name": model_name,
        "phrase": phrase,
        "wakeforge_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "input": {"shape": [1, 16, 96], "dtype": "float32", "features": "openWakeWord melspectrogram + embedding_model"},
        "output": {"shape": [1, 1], "meaning": "probability that the phrase ends in the window"},
        "recommended_threshold": threshold,
        "files": {k: {"path": Path(v).name, "sha256": sha256(v)} for k, v in files.items() if v},
        "metrics": metrics,
        "parity_max_abs_diff": parity,
        "config": config or {},
    }
    if extra:
        card.update(extra)
    return write_json_atomic(path, card)
