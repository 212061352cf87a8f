"""Atomic writes and manifests survive kills."""

from __future__ import annotations

import pytest

from wakeforge.utils.atomic import Manifest, atomic_path, clean_stale_tmp


def test_manifest_line_cut_by_a_kill_loses_only_that_record(tmp_path):
    m = Manifest(tmp_path / "m.jsonl")
    m.append({"key": "a"})
    with open(m.path, "a") as fh:  # a kill in the middle of a write
        fh.write('{"key": "b", "n"')
    m.append({"key": "c"})
    m.extend([{"key": "d"}])
    assert sorted(m.done()) == ["a", "c", "d"]


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            open(tmp, "wb").write(b"partial")
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    (tmp_path / ".tmp-stale.wav").write_bytes(b"x")
    assert clean_stale_tmp(tmp_path) == 1
