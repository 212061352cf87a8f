"""Stage 1's manifest kinds -> the groups the held-out evaluation reports apart."""

from __future__ import annotations

import json

from wakeforge.evaluation.callbacks import negative_kinds


def test_negative_kinds_from_manifest(tmp_path):
    recs = [
        {"file": "000000.wav", "kind": "adversarial"},
        {"file": "000001.wav", "kind": "general"},
        {"file": "000002.wav", "kind": "custom"},
    ]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs) + "{broken\n")
    kinds = negative_kinds(tmp_path)
    assert kinds == {
        str(tmp_path / "000000.wav"): "adversarial",
        str(tmp_path / "000001.wav"): "general",
        str(tmp_path / "000002.wav"): "adversarial",
    }
    assert negative_kinds(tmp_path / "missing") == {}
