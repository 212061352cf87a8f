"""The plan line: counts of the smoke experiment, estimates from built-in and measured rates."""

from __future__ import annotations

import json

from wakeforge.core.config import compose_config
from wakeforge.pipeline.plan import AUGMENT_ROWS_PER_S, AUGMENT_STARTUP_S, RATES_FILE, learn_from_stage, plan_run


def test_plan_counts_the_smoke_run_and_learns_rates(tmp_path, monkeypatch):
    monkeypatch.setenv("WAKEFORGE_CACHE_DIR", str(tmp_path / "cache"))
    cfg = compose_config(["experiment=smoke", f"paths.root_dir={tmp_path}", "trainer.accelerator=cpu", "device=cpu"],
                         output_dir=tmp_path / "run")
    plan = plan_run(cfg, ["generate", "augment", "train"])
    assert sum(plan.clips.values()) == 88 and plan.clips_done == 0
    # 32 positive train + 12 test; (32 + 12) negative clips x 8 windows; 32 background.
    assert plan.rows == {"positive": 44, "negative": 352, "background": 32}
    assert plan.steps == 300 and plan.device == "cpu"
    assert plan.estimate_s["augment"] == AUGMENT_STARTUP_S + 428 / AUGMENT_ROWS_PER_S["cpu"]
    line = plan.line()
    assert line.startswith('plan: "hey jarvis"; 88 clips (44 of the phrase, 44 negatives); 428 feature rows; 300 training steps')
    assert "built-in rates" in line and "disk ~" in line
    # A finished stage teaches the next plan this machine's rate.
    from wakeforge.augment import stage

    monkeypatch.setattr(stage, "LAST_RUN", {"rows": 428, "made": 428, "seconds": 4.28})
    learn_from_stage(cfg, plan, "augment", 10.0, {})
    rates = json.loads((tmp_path / "cache" / RATES_FILE).read_text())
    (key, vals), = rates.items()
    assert vals["augment_rows_per_s"] == 100.0 and abs(vals["augment_startup_s"] - 5.72) < 1e-9
    again = plan_run(cfg, ["augment"])
    assert abs(again.estimate_s["augment"] - (5.72 + 4.28)) < 1e-6
    assert "rates measured on this machine" in again.line()
