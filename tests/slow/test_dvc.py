"""DVC pipeline (dvc.yaml) on the smoke config, in a throw-away copy of the repository.

`dvc repro` runs generate -> augment -> train once; a second `dvc repro` skips every stage; a
model parameter change marks only `train` as changed; `dvc exp run -S data.phrase=...` composes
params.yaml through DVC's Hydra integration and trains the new phrase.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.slow.conftest import REPO

pytestmark = pytest.mark.slow

BASE = ["experiment=smoke", "trainer.enable_progress_bar=false", "tts.progress=false"]


def _env() -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",  # `python` in dvc.yaml = this venv
        "DVC_NO_ANALYTICS": "1",
        "WANDB_MODE": "disabled",
        "GIT_AUTHOR_NAME": "wakeforge-test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "wakeforge-test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }


def _run(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        args, cwd=cwd, env=_env(), check=False, capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, f"{' '.join(args)} failed:\n{(out.stdout + out.stderr)[-4000:]}"
    return out


def _dvc(*args: str, cwd: Path) -> str:
    out = _run([str(Path(sys.executable).parent / "dvc"), *args], cwd)
    return out.stdout + out.stderr


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The repository's files (tracked and new, not ignored) in a fresh git repo, reproduced once."""
    if shutil.which("git") is None or not (Path(sys.executable).parent / "dvc").exists():
        pytest.fail("dvc and git are needed: pip install -r requirements.txt")
    dest = tmp_path_factory.mktemp("dvc") / "repo"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, files):
        src = REPO / rel
        if src.is_file() and not rel.startswith(("data/", "logs/")):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    assert (dest / "dvc.yaml").exists() and (dest / ".dvc" / "config").exists()
    _run(["git", "init", "-q"], dest)
    _run([sys.executable, "-m", "wakeforge.compat", "params", *BASE], dest)
    _run(["git", "add", "-A"], dest)
    _run(["git", "commit", "-qm", "pipeline"], dest)
    first = _dvc("repro", cwd=dest)
    for stage in ("generate", "augment", "train"):
        assert f"Running stage '{stage}'" in first, first[-3000:]
    return dest


def test_second_repro_skips_every_stage(repo):
    work = repo / "data" / "detection" / "hey_jarvis"
    assert (work / "hey_jarvis.onnx").exists() and (work / "hey_jarvis.tflite").exists()
    assert (repo / "dvc.lock").exists()
    again = _dvc("repro", cwd=repo)
    assert "Running stage" not in again, again
    for stage in ("generate", "augment", "train"):
        assert f"Stage '{stage}' didn't change, skipping" in again
    assert "Data and pipelines are up to date." in _dvc("status", cwd=repo)


def test_model_change_only_affects_train(repo):
    params_path = repo / "params.yaml"
    original = params_path.read_text()
    try:
        params = yaml.safe_load(original)
        params["model"]["head"]["layer_size"] = 24
        params_path.write_text(yaml.safe_dump(params, sort_keys=False))
        status = _dvc("status", cwd=repo)
        assert "train:" in status and "generate:" not in status and "augment:" not in status, status
    finally:
        params_path.write_text(original)


def test_exp_run_with_a_new_phrase(repo):
    """`dvc exp run -S data.phrase=...`: DVC composes conf/pipeline.yaml into params.yaml."""
    sets = [a for o in BASE for a in ("-S", o)]
    _dvc("exp", "run", *sets, "-S", "data.phrase='ok nabu'", cwd=repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert params["data"]["phrase"] == "ok nabu" and params["model_name"] == "ok_nabu"
    work = repo / "data" / "detection" / "ok_nabu"
    assert (work / "ok_nabu.onnx").stat().st_size > 1000
    assert "best" in yaml.safe_load((work / "metrics.json").read_text())
