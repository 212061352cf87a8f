"""Feature sources and batch mixing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wakeforge.training.data.datamodule import BalancedBatches, ClassSource, WakeWordDataModule
from wakeforge.core.layout import feature_file
from wakeforge.training.data.sources import RowReader
from wakeforge.core.errors import WakeforgeError


def _write(path, n, value=None, dtype=np.float32):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.arange(n, dtype=np.float32)[:, None, None] * np.ones((1, 16, 96), np.float32)
    np.save(path, arr.astype(dtype))
    return path


def test_row_reader_reads_any_order_and_int16(tmp_path):
    p = _write(tmp_path / "a.npy", 50, dtype=np.int16)
    r = RowReader(p)
    rows = r.read([49, 3, 4, 5, 3, 0])
    assert rows.dtype == np.float32 and rows.shape == (6, 16, 96)
    assert rows[:, 0, 0].tolist() == [49, 3, 4, 5, 3, 0]


@pytest.mark.parametrize("shape,dtype", [((10, 16, 95), np.float32), ((10, 1536), np.float32), ((10, 16, 96), np.float64)])
def test_row_reader_rejects_wrong_shape_or_dtype(tmp_path, shape, dtype):
    p = tmp_path / "bad.npy"
    np.save(p, np.zeros(shape, dtype))
    with pytest.raises(WakeforgeError, match=r"expected \[N, 16, 96\]"):
        RowReader(p)


def test_balanced_batches_composition_and_resume_determinism(tmp_path):
    pos = RowReader(_write(tmp_path / "p.npy", 20))
    neg = RowReader(_write(tmp_path / "n.npy", 30, dtype=np.int16))
    srcs = [ClassSource("positive", pos, 4, 1.0), ClassSource("neg", neg, 6, 0.0, weight=2.0)]
    ds = BalancedBatches(srcs, seed=7)
    x, y, w = ds.batch(3)
    assert x.shape == (10, 16, 96) and y.tolist() == [1.0] * 4 + [0.0] * 6
    assert w.tolist() == [1.0] * 4 + [2.0] * 6
    # Batch k depends only on (seed, k): a resumed stream starting at step 3 repeats it exactly.
    resumed = BalancedBatches(srcs, seed=7, start_step=lambda: 3)
    x2, _, _ = next(iter(resumed))
    assert torch.equal(x, x2)
    assert not torch.equal(ds.batch(4)[0], x)


def test_datamodule_names_missing_features(tmp_path):
    dm = WakeWordDataModule(tmp_path, {"positive": 4, "adversarial_negative": 4})
    with pytest.raises(WakeforgeError, match="python -m wakeforge.augment"):
        dm.setup("fit")


def test_datamodule_validation_groups(tmp_path):
    for cls in ("positive", "adversarial_negative"):
        for split in ("train", "test"):
            _write(feature_file(tmp_path, cls, split), 12)
    fp = _write(tmp_path / "fp.npy", 40)
    dm = WakeWordDataModule(tmp_path, {"positive": 2, "adversarial_negative": 2}, false_positive_validation_data_path=str(fp))
    dm.setup("fit")
    groups = torch.cat([g for _, g in dm.val_dataloader()])
    assert (groups == 0).sum() == 12 and (groups == 1).sum() == 12 and (groups == 2).sum() == 40


def test_fp_validation_stream_2d_is_windowed_like_openwakeword(tmp_path):
    from wakeforge.training.data.sources import StreamWindowReader, open_feature_rows

    stream = np.random.default_rng(0).standard_normal((100, 96)).astype(np.float32)
    p = tmp_path / "validation_set_features.npy"
    np.save(p, stream)
    r = open_feature_rows(p)
    assert isinstance(r, StreamWindowReader) and len(r) == 85
    w = r.read(np.arange(85))
    # openWakeWord: np.array([X[i:i+16] for i in range(0, len(X)-16, 1)]) (it drops the last window)
    ref = np.array([stream[i : i + 16] for i in range(0, 100 - 16 + 1)])
    np.testing.assert_array_equal(w, ref)
    for cls in ("positive", "adversarial_negative"):
        _write(feature_file(tmp_path, cls, "test"), 4)
        _write(feature_file(tmp_path, cls, "train"), 4)
    dm = WakeWordDataModule(tmp_path, {"positive": 2}, false_positive_validation_data_path=str(p))
    dm.setup("fit")
    groups = torch.cat([g for _, g in dm.val_dataloader()])
    assert (groups == 2).sum() == 85
