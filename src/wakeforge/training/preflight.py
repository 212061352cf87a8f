"""Stage 3's preflight: the batch mix has features, extra feature files have the right shape,
stage 2's features exist when training runs alone."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from wakeforge.core.config import resolve_path
from wakeforge.core.errors import WakeforgeError
from wakeforge.core.preflight import Problem


def _check_counts(cfg: DictConfig) -> list[Problem]:
    """Every class in the batch mix has features; the clip length gives the head its frames.

    Counts >= 0, a positive class and min < max clip length are the schema's
    (:class:`wakeforge.core.schema.DataSchema`).
    """
    data = cfg.data
    out = []
    bnpc = dict(data.get("batch_n_per_class") or {})
    known = {"positive", "adversarial_negative", "background", "rearranged_negative",
             *dict(data.get("feature_data_files") or {})}
    extra = [k for k, v in bnpc.items() if v > 0 and k not in known]
    if extra:
        out.append(Problem(
            "data.batch_n_per_class",
            f"data.batch_n_per_class has class(es) {extra} with no features: use positive, adversarial_negative, "
            f"background, rearranged_negative or a key of data.feature_data_files (e.g. +data.feature_data_files.{extra[0]}=/path/features.npy)",
        ))
    if int(bnpc.get("background", 0) or 0) > 0 and data.get("n_background") == 0:
        out.append(Problem("data.n_background", "data.batch_n_per_class.background > 0 but data.n_background=0; set data.n_background (e.g. 1000) or data.batch_n_per_class.background=0"))
    dur, n_frames = data.get("clip_duration_s"), (cfg.get("features") or {}).get("n_frames", 16)
    from wakeforge.features.onnx_extractor import n_frames as frames_for

    got = frames_for(int(round(float(dur) * 16_000)))
    if got < n_frames:
        out.append(Problem("data.clip_duration_s", f"data.clip_duration_s={dur} gives {got} feature frames but the head needs features.n_frames={n_frames}; use data.clip_duration_s=2.0 or more"))
    return out


def _npy_problem(key: str, path: Path, allow_stream: bool) -> Problem | None:
    """Shape/dtype of a feature file from its header only (no data read)."""
    import numpy as np

    from wakeforge.training.data.sources import read_npy_header

    if not path.is_file():
        return Problem(key, f"{key}: {path} not found (relative paths resolve against {Path.cwd()}); fix the path")
    try:
        info = read_npy_header(path)
    except WakeforgeError:
        return Problem(key, f"{key}: {path} is not a .npy feature file; expected [N, 16, 96] float32/int16 openWakeWord features")
    except (OSError, EOFError) as exc:
        return Problem(key, f"{key}: {path} cannot be read ({exc}); re-download or regenerate it")
    ok_dtype = info.dtype in (np.dtype("float32"), np.dtype("int16"))
    shape = tuple(info.shape)
    ok_shape = (len(shape) == 3 and shape[1:] == (16, 96)) or (allow_stream and len(shape) == 2 and shape[1] == 96)
    if not ok_shape or not ok_dtype or info.fortran:
        want = "[N, 16, 96] windows or an [N, 96] stream" if allow_stream else "[N, 16, 96]"
        return Problem(key, f"{key}: {path} has shape {list(shape)} dtype {info.dtype}; expected {want} float32 or int16 openWakeWord features")
    expected = info.offset + int(np.prod(shape)) * info.dtype.itemsize
    if path.stat().st_size < expected:
        return Problem(key, f"{key}: {path} is truncated ({path.stat().st_size} of {expected} bytes); re-download or regenerate it")
    if shape[0] == 0:
        return Problem(key, f"{key}: {path} holds no rows; use a non-empty feature file")
    return None


def _check_feature_files(cfg: DictConfig) -> list[Problem]:
    data = cfg.data
    out = []
    for name, v in dict(data.get("feature_data_files") or {}).items():
        prob = _npy_problem(f"data.feature_data_files.{name}", resolve_path(str(v)), allow_stream=False)
        if prob:
            out.append(prob)
    fp = data.get("false_positive_validation_data_path")
    if fp:
        prob = _npy_problem("data.false_positive_validation_data_path", resolve_path(str(fp)), allow_stream=True)
        if prob:
            out.append(prob)
    return out


def _check_features(cfg: DictConfig) -> list[Problem]:
    """Stage 3 without stage 2 needs stage 2's feature files on disk."""
    from wakeforge.core.layout import feature_file

    work = resolve_path(str(cfg.work_dir))
    extra = dict(cfg.data.get("feature_data_files") or {})
    wanted = [(c, "train") for c, n in dict(cfg.data.get("batch_n_per_class") or {}).items() if n > 0 and c not in extra]
    wanted.append(("positive", "test"))
    for cls, split in wanted:
        path = feature_file(work, cls, split)
        if not path.is_file():
            partial = path.with_name(path.name + ".partial.npy").exists()
            why = "is only partly written" if partial else "not found"
            return [Problem("stages", f"features {path} {why}; run `python -m wakeforge.augment` with the same overrides first (or add augment to stages)")]
        prob = _npy_problem(f"features {cls}/{split}", path, allow_stream=False)
        if prob:
            return [Problem("stages", prob.message.replace("; expected", "; delete it and rerun `python -m wakeforge.augment`; expected"))]
    return []


def _check_head(cfg: DictConfig) -> list[Problem]:
    """The dnn head's options, checked by the head's own rule before any stage runs (the head
    itself is only built in stage 3, after generate and augment)."""
    model = cfg.get("model") or {}
    head = model.get("head") or {}
    if model.get("model_type", "dnn") != "dnn" or not head:
        return []
    from wakeforge.training.models.heads import dnn_option_problems

    return [Problem("model.head", m) for m in dnn_option_problems(head.get("n_members", 1), head.get("dropout", 0.0))]


def problems(cfg: DictConfig, stages: Sequence[str]) -> list[Problem]:
    """Stage 3's findings (the batch mix and the head always: stage 2 makes the classes it names)."""
    out = _check_counts(cfg) + _check_head(cfg)
    if "train" in stages:
        out += _check_feature_files(cfg)
        if "augment" not in stages and not cfg.data.get("stream"):
            out += _check_features(cfg)
    return out
