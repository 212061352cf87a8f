"""Model discovery: WAKE_MODEL_PATHS, then the detection folder, then built-ins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wakeforge.evaluation.discovery import (
    ENV_VAR,
    default_detection_dir,
    discover_models,
    resolve_model,
)
from wakeforge.core.errors import WakeforgeError


def touch(path: Path, data: bytes = b"model") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture()
def layout(tmp_path):
    det = tmp_path / "detection"
    touch(det / "hey_bob" / "hey_bob.onnx")
    touch(det / "hey_bob" / "hey_bob.tflite")
    touch(det / "hey_bob" / ".tmp-x1y2.onnx")             # an export in progress: ignored
    touch(det / "alexa" / "alexa.tflite")
    touch(det / "wrong_dir" / "other_name.onnx")          # directory name must match
    touch(det / "loose.onnx")                             # not in a model folder
    (det / "in_training").mkdir()                         # work dir without a model yet
    touch(det / "empty" / "empty.onnx", b"")              # interrupted export
    env1 = touch(tmp_path / "mine" / "alexa.onnx")        # shadows detection_dir's alexa
    env_dir = tmp_path / "envdir"
    touch(env_dir / "ok_nabu.onnx")
    touch(env_dir / "hey_sam" / "hey_sam.tflite")
    return det, env1, env_dir


def skipped_reason(res, fragment: str) -> str:
    hits = [why for what, why in res.skipped if fragment in what]
    assert hits, f"{fragment} not in skipped: {res.skipped}"
    return hits[0]


def test_detection_dir_rules(layout):
    det, _, _ = layout
    res = discover_models(det, env={}, include_builtin=False)
    assert [(m.name, m.tier, m.framework) for m in res.found] == [
        ("alexa", "detection_dir", "tflite"),
        ("hey_bob", "detection_dir", "onnx"),
    ]
    bob = res.get("hey_bob")
    assert bob.path == det / "hey_bob" / "hey_bob.onnx"
    assert bob.alternates == {"tflite": det / "hey_bob" / "hey_bob.tflite"}
    assert "directory name must match model name" in skipped_reason(res, "other_name.onnx")
    assert not any(".tmp-" in what for what, _ in res.skipped)
    assert "folder named after the model" in skipped_reason(res, "loose.onnx")
    assert "empty file" in skipped_reason(res, "empty.onnx")
    assert "training not finished" in skipped_reason(res, "in_training")
    # prefer tflite when asked
    res_t = discover_models(det, env={}, include_builtin=False, prefer="tflite")
    assert res_t.get("hey_bob").framework == "tflite"


def test_env_var_comes_first_and_shadows(layout):
    det, env1, env_dir = layout
    env = {ENV_VAR: os.pathsep.join([str(env1), str(env_dir), "/does/not/exist", ""])}
    res = discover_models(det, env=env, include_builtin=False)
    tiers = {m.name: m.tier for m in res.found}
    assert tiers == {"alexa": "env", "ok_nabu": "env", "hey_sam": "env",
                     "hey_bob": "detection_dir"}
    assert res.names()[:3] == ["alexa", "hey_sam", "ok_nabu"]      # env tier first
    assert res.get("alexa").path == env1
    assert "shadowed by" in skipped_reason(res, str(det / "alexa" / "alexa.tflite"))
    assert "does not exist" in skipped_reason(res, "/does/not/exist")


def test_env_entries_that_are_not_models(tmp_path):
    txt = touch(tmp_path / "notes.txt")
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    res = discover_models(None, env={ENV_VAR: f"{txt}{os.pathsep}{empty_dir}"},
                          include_builtin=False)
    assert res.found == []
    assert "not a .onnx or .tflite" in skipped_reason(res, "notes.txt")
    assert "holds no" in skipped_reason(res, "nothing")


def test_missing_detection_dir_is_reported(tmp_path):
    res = discover_models(tmp_path / "absent", env={}, include_builtin=False)
    assert res.found == [] and "does not exist yet" in skipped_reason(res, "absent")
    assert "found 0 model(s)" in res.format()


def test_builtin_tier_last(layout):
    pytest.importorskip("wakeforge.features.assets")
    det, env1, _ = layout
    touch(det / "alexa_v0.1" / "alexa_v0.1.onnx")          # a user model with a built-in name
    res = discover_models(det, env={ENV_VAR: str(env1)}, include_builtin=True)
    builtin = [m for m in res.found if m.tier == "builtin"]
    if not builtin:
        reasons = [why for _, why in res.skipped if "built-in" in why]
        pytest.skip(f"reference models unavailable offline: {reasons[:1]}")
    assert res.found[-1].tier == "builtin"
    assert res.get("alexa_v0.1").tier == "detection_dir"
    assert "hey_jarvis_v0.1" in {m.name for m in builtin}
    jarvis = res.get("hey_jarvis_v0.1")
    assert jarvis.framework == "onnx" and "tflite" in jarvis.alternates
    assert "shadowed by" in skipped_reason(res, "alexa_v0.1.onnx")
    order = [m.tier for m in res.found]
    assert order == sorted(order, key=["env", "detection_dir", "builtin"].index)
    assert order[0] == "env"


def test_resolve_model_by_path_name_and_version(layout):
    det, env1, env_dir = layout
    env = {ENV_VAR: str(env_dir)}
    res = discover_models(det, env=env, include_builtin=False)
    assert resolve_model(env1, det, env=env).tier == "path"
    assert resolve_model("hey bob", det, discovered=res).name == "hey_bob"
    assert resolve_model("ok-nabu", det, discovered=res).tier == "env"
    assert resolve_model("hey_bob.tflite", det, discovered=res).framework == "tflite"
    with pytest.raises(WakeforgeError, match="no .onnx file"):
        resolve_model("alexa.onnx", det, discovered=res)
    with pytest.raises(WakeforgeError, match="no model named 'nobody'"):
        resolve_model("nobody", det, discovered=res)
    with pytest.raises(WakeforgeError, match="not found"):
        resolve_model(str(det / "x" / "x.onnx"), det, discovered=res)
    # a version suffix may be left out
    touch(det / "hey_jo_v0.2" / "hey_jo_v0.2.onnx")
    res = discover_models(det, env={}, include_builtin=False)
    assert resolve_model("hey_jo", det, discovered=res).name == "hey_jo_v0.2"


def test_default_detection_dir_follows_root(monkeypatch, tmp_path):
    monkeypatch.setenv("WAKEFORGE_ROOT", str(tmp_path))
    assert default_detection_dir() == tmp_path / "data" / "detection"
