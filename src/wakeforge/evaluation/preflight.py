"""The end-of-run evaluation's preflight: a real-recording suite laid out like a benchmark suite."""

from __future__ import annotations

from omegaconf import DictConfig

from wakeforge.core.config import resolve_path
from wakeforge.core.preflight import Problem


def _check_real_suite(cfg: DictConfig) -> list[Problem]:
    """callbacks.real_evaluation.suite: an existing folder laid out like a benchmark suite."""
    node = (cfg.get("callbacks") or {}).get("real_evaluation") or {}
    suite = node.get("suite") if hasattr(node, "get") else None
    if not suite:
        return []
    key = "callbacks.real_evaluation.suite"
    if not isinstance(suite, str):
        return [Problem(key, f"{key} must be a folder path or null, got {suite!r}")]
    from wakeforge.core.errors import WakeforgeError
    from wakeforge.evaluation.benchmark import load_suite

    try:
        load_suite(resolve_path(suite))
    except WakeforgeError as exc:
        return [Problem(key, f"{key}: {exc}")]
    return []


def problems(cfg: DictConfig, stages) -> list[Problem]:  # noqa: ANN001 - a sequence of stage names
    """The end-of-run evaluation's findings (only when training runs)."""
    return _check_real_suite(cfg) if "train" in stages else []
