"""Memory-mapped feature files: resumable writes, atomic finish, validated reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wakeforge.core.errors import WakeforgeError
from wakeforge.features.store import FeatureWriter, open_features


def _rows(start: int, stop: int) -> np.ndarray:
    base = np.arange(start, stop, dtype=np.float32)[:, None, None]
    return np.broadcast_to(base, (stop - start, 16, 96)).copy()


def test_write_finalize_and_open(tmp_path):
    path = tmp_path / "sub" / "pos.npy"
    with FeatureWriter(path, n_rows=10) as w:
        assert w.missing_ranges(block=4) == [(0, 4), (4, 8), (8, 10)]
        for a, b in w.missing_ranges(block=4):
            w.write(a, _rows(a, b))
        assert not path.exists()  # only the partial file until finalize
        assert w.finalize() == path
    assert sorted(p.name for p in path.parent.iterdir()) == ["pos.npy"]
    arr = open_features(path)
    assert isinstance(arr, np.memmap) and not arr.flags.writeable
    assert arr.shape == (10, 16, 96) and arr.dtype == np.float32
    np.testing.assert_array_equal(arr, _rows(0, 10))


def test_resume_after_interruption(tmp_path):
    path = tmp_path / "neg.npy"
    w = FeatureWriter(path, n_rows=12)
    w.write(0, _rows(0, 4))
    w.write(8, _rows(8, 10))
    w.close()  # a killed run: no finalize
    del w

    sidecar = json.loads((tmp_path / "neg.npy.partial.json").read_text())
    assert sidecar["done"] == [[0, 4], [8, 10]]

    w = FeatureWriter(path, n_rows=12)
    assert w.n_done == 6 and w.is_done(9) and not w.is_done(5)
    assert w.missing_ranges() == [(4, 8), (10, 12)]
    for a, b in w.missing_ranges():
        w.write(a, _rows(a, b))
    w.finalize()
    np.testing.assert_array_equal(open_features(path), _rows(0, 12))

    again = FeatureWriter(path, n_rows=12)  # rerun of a finished stage: nothing to do
    assert again.finished and again.missing_ranges() == [] and again.finalize() == path


def test_truncated_partial_file_starts_over(tmp_path):
    path = tmp_path / "t.npy"
    w = FeatureWriter(path, n_rows=4)
    w.write(0, _rows(0, 2))
    w.close()
    (tmp_path / "t.npy.partial.npy").write_bytes(b"")  # e.g. a disk-full crash
    w = FeatureWriter(path, n_rows=4)
    assert w.n_done == 0
    for a, b in w.missing_ranges():
        w.write(a, _rows(a, b))
    w.finalize()
    np.testing.assert_array_equal(open_features(path), _rows(0, 4))


def test_changed_settings_start_over(tmp_path):
    path = tmp_path / "f.npy"
    w = FeatureWriter(path, n_rows=6)
    w.write(0, _rows(0, 3))
    w.close()
    w = FeatureWriter(path, n_rows=8)
    assert w.n_done == 0 and w.missing_ranges() == [(0, 8)]
    w.close()
    w = FeatureWriter(path, n_rows=8, resume=False)
    assert w.n_done == 0


def test_finalize_refuses_gaps_and_bad_blocks(tmp_path):
    w = FeatureWriter(tmp_path / "g.npy", n_rows=5)
    w.write(0, _rows(0, 2))
    with pytest.raises(WakeforgeError, match="3 of 5 rows"):
        w.finalize()
    with pytest.raises(WakeforgeError, match="row shape"):
        w.write(2, np.zeros((1, 16, 95), np.float32))
    with pytest.raises(WakeforgeError, match="outside"):
        w.write(4, _rows(0, 2))
    w.close()


def test_int16_files_are_used_as_is(tmp_path):
    path = tmp_path / "acav.npy"
    data = np.random.default_rng(0).integers(-300, 300, (7, 16, 96)).astype(np.int16)
    np.save(path, data)
    arr = open_features(path)
    assert arr.dtype == np.int16
    np.testing.assert_array_equal(arr, data)

    w = FeatureWriter(tmp_path / "q.npy", n_rows=2, dtype=np.int16)
    with pytest.raises(WakeforgeError, match="quantise"):
        w.write(0, np.zeros((2, 16, 96), np.float32))
    w.close()


@pytest.mark.parametrize(
    "array",
    [np.zeros((3, 16, 95), np.float32), np.zeros((3, 1536), np.float32),
     np.zeros((3, 16, 96), np.float64), np.zeros((3, 8, 96), np.float32)],
)
def test_open_features_rejects_bad_layout(tmp_path, array):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(WakeforgeError) as err:
        open_features(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and "[N, 16, 96]" in msg
    assert str(array.dtype) in msg and str(list(array.shape)) in msg


def test_open_features_missing_or_garbage(tmp_path):
    with pytest.raises(WakeforgeError, match="does not exist"):
        open_features(tmp_path / "none.npy")
    for junk in (b"not numpy", b""):
        (tmp_path / "junk.npy").write_bytes(junk)
        with pytest.raises(WakeforgeError, match="not a readable .npy") as err:
            open_features(tmp_path / "junk.npy")
        assert "\n" not in str(err.value)
    long = tmp_path / "long.npy"
    np.save(long, np.zeros((2, 28, 96), np.float32))
    assert open_features(long, frame_shape=None).shape == (2, 28, 96)
