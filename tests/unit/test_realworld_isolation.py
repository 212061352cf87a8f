"""The real-recording benchmark suite (../shared/realworld-dev) is for measuring only.

Nothing in the default training config may point at it: its figures would stop meaning
anything if training, augmentation or checkpoint selection read a file of it. The smoke test
(tests/integration/test_smoke.py) also records every file the pipeline opens or lists and
asserts none lies under the suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from wakeforge.core.config import compose_config

REPO = Path(__file__).resolve().parents[2]
SUITE = (REPO.parent / "shared" / "realworld-dev").resolve()


def _leaves(node, prefix=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, f"{prefix}{k}.")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, f"{prefix}{i}.")
    else:
        yield prefix.rstrip("."), node


@pytest.mark.parametrize("overrides", [[], ["data.phrase=computer"], ["experiment=smoke"],
                                       ["data.phrase=smart mirror", "model=rnn"]])
def test_training_config_points_at_nothing_in_the_suite(overrides, tmp_path):
    cfg = compose_config(overrides + [f"paths.root_dir={tmp_path}"])
    values = OmegaConf.to_container(cfg, resolve=True)
    for key, value in _leaves(values):
        if not isinstance(value, str):
            continue
        assert "realworld" not in value.lower(), (key, value)
        p = Path(value).expanduser()
        if p.is_absolute():
            resolved = p.resolve()
            assert SUITE not in (resolved, *resolved.parents), (key, value)


def test_no_training_module_names_the_suite():
    """Only the benchmark (measuring) modules may mention a realworld suite."""
    allowed = {"benchmark.py"}
    bench_pkg = REPO / "src" / "wakeforge" / "evaluation" / "benchmark"  # the benchmark, split up
    hits = [p.relative_to(REPO) for p in (REPO / "src" / "wakeforge").rglob("*.py")
            if p.name not in allowed and bench_pkg not in p.parents
            and "realworld" in p.read_text(encoding="utf-8").lower()]
    assert hits == []
