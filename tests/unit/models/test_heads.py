"""The dnn head's options: dropout acts in training only and exports to the same scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wakeforge.core.errors import ConfigError
from wakeforge.training.models.heads import DNNHead


def test_dropout_changes_training_outputs_only(tmp_path):
    from wakeforge.export.onnx import export_onnx, run_onnx

    torch.manual_seed(0)
    head = DNNHead(layer_size=32, n_members=3, dropout=0.5)
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(8, 16, 96)).astype(np.float32))
    head.train()
    assert (head(x) - head(x)).abs().max().item() > 1e-3        # units dropped at random
    head.eval()
    with torch.no_grad():
        want = head(x).numpy().reshape(-1)
        assert np.array_equal(want, head(x).numpy().reshape(-1))
    onnx = export_onnx(head, tmp_path / "d.onnx")
    got = np.concatenate([np.asarray(run_onnx(onnx, x[i : i + 1])).reshape(-1) for i in range(len(x))])
    assert np.abs(got - want).max() < 1e-5


def test_no_dropout_keeps_state_dict_names_and_rejects_bad_values():
    # Heads trained before the option existed keep loading: no layers are added at 0.
    names = list(DNNHead(layer_size=8, n_members=1).state_dict())
    assert names == ["net.1.weight", "net.1.bias", "net.2.weight", "net.2.bias", "net.4.weight",
                     "net.4.bias", "net.5.weight", "net.5.bias", "net.7.weight", "net.7.bias"]
    with_drop = DNNHead(layer_size=8, n_members=1, dropout=0.2)
    assert sum(isinstance(m, torch.nn.Dropout) for m in with_drop.modules()) == 2
    for bad in (-0.1, 1.0, "lots"):
        with pytest.raises(ConfigError, match="dropout"):
            DNNHead(dropout=bad)


def test_dropout_off_keeps_the_run_fingerprint(tmp_path):
    # Runs trained before head.dropout existed resume from their checkpoints while it is 0.
    from omegaconf import OmegaConf

    from wakeforge.training.run import run_fingerprint

    def cfg(**head):
        return OmegaConf.create({"work_dir": str(tmp_path), "seed": 1, "trainer": {"max_steps": 3000},
                                 "data": {"batch_n_per_class": {"positive": 64}, "feature_data_files": {}, "stream": False},
                                 "model": {"head": {"layer_size": 128, "n_members": 3, **head}}})

    old = run_fingerprint(cfg())
    assert run_fingerprint(cfg(dropout=0.0)) == old
    assert run_fingerprint(cfg(dropout=0.3)) != old
