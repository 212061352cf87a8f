"""The console of a real smoke run with output to a file, and one set of figures everywhere.

``python -m wakeforge.train experiment=smoke logger=wandb`` (W&B offline) runs once with stdout
and stderr going to a file, as under ``nohup`` or CI. The log must be short, free of the
third-party noise the run used to print, print every record once and end with the summary
block; the figures of the log, the model card, ``evaluation/metrics.json`` and ``report.html``
must be the same numbers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Texts the run printed before (issue #14): none may appear.
NOISE = (
    "weights_only",            # torch.load FutureWarning at every checkpoint
    "litlogger",               # Lightning's advert
    "anonymous setting has no effect",  # W&B offline
    "will be ignored",         # W&B "`resume` will be ignored"
    "LeafSpec",                # torch pytree FutureWarning in the exporters
    "absl::InitializeLog",     # TFLite converter (C++)
    "oneDNN",                  # TensorFlow's start-up note
    "Epoch 0/",                # Lightning's epoch bar on a step-limited run
    "FutureWarning",
    "UserWarning",
    "it/s]",                   # tqdm redraws
)

_STAMP = re.compile(r"^\d\d:\d\d:\d\d ")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("console")
    log_file = root / "console.log"
    env = {**os.environ, "WANDB_MODE": "offline", "WAKEFORGE_ROOT": str(root),
           "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for var in ("TF_CPP_MIN_LOG_LEVEL", "WANDB_SILENT", "WAKEFORGE_VERBOSE"):
        env.pop(var, None)  # the run must quiet these itself
    with open(log_file, "w") as fh:
        proc = subprocess.run(
            [sys.executable, "-m", "wakeforge.train", "experiment=smoke", "logger=wandb",
             f"paths.root_dir={root}", "num_workers=2"],
            cwd=root, stdout=fh, stderr=subprocess.STDOUT, timeout=3600, env=env,
        )
    text = log_file.read_text(errors="replace")
    assert proc.returncode == 0, text[-3000:]
    return root, text


def test_console_is_short_clean_and_single(smoke_run):
    root, text = smoke_run
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) < 200, f"{len(lines)} lines"
    assert "\r" not in text  # no redrawn progress bars in a file
    for noise in NOISE:
        assert noise not in text, noise
    # Every record once: the same message twice (two handlers) would repeat after the stamp.
    bodies = Counter(b for b in (_STAMP.sub("", ln) for ln in lines) if not set(b.strip()) <= {"-"})
    twice = [b for b, n in bodies.items() if n > 1]
    assert twice == [], twice
    # Before any work: the plan; each stage starts and ends once.
    assert re.search(r"plan: \"hey jarvis\"; 88 clips .*; device cpu, \d+ cores; disk ~\d+ MB; estimated generate ~", text)
    for i, stage in enumerate(("generate", "augment", "train"), 1):
        assert sum(f"[{i}/3] {stage}: " in ln for ln in lines) == 1, stage
        assert sum(f"[{i}/3] {stage} finished in " in ln for ln in lines) == 1, stage
    # The summary block ends the run: files, figures, times, next commands.
    start = next(i for i, ln in enumerate(lines) if "summary: hey_jarvis in " in ln)
    block = "\n".join(lines[start:])
    work = root / "data" / "detection" / "hey_jarvis"
    assert str(work / "hey_jarvis.onnx") in block and str(work / "hey_jarvis.tflite") in block
    assert str(work / "report.html") in block
    assert "recall " in block and "false accepts/hour" in block and "near-miss clips" in block
    assert re.search(r"time +generate .*, augment .*, train ", block)
    assert "python -m wakeforge.detect --model" in block and "--mic" in block
    assert "python -m wakeforge.evaluate --model" in block
    assert "wandb sync " in block and "offline-run-" in block


def test_card_log_metrics_and_report_agree(smoke_run):
    root, text = smoke_run
    work = root / "data" / "detection" / "hey_jarvis"
    card = json.loads((work / "hey_jarvis.json").read_text())
    metrics = json.loads((work / "evaluation" / "metrics.json").read_text())
    report = (work / "report.html").read_text()
    fig = metrics["figures"]
    # The log line of the figures (and the summary) print them with 3 decimals.
    m = re.search(r"figures \(held-out synthetic clips, streaming detector\): threshold ([\d.]+); "
                  r"recall ([\d.]+) \((\d+) of (\d+) positives\); ([\d.]+) false accepts/hour", text)
    assert m, text[-3000:]
    thr, rec, det, n_pos, fah = float(m[1]), float(m[2]), int(m[3]), int(m[4]), float(m[5])
    assert thr == pytest.approx(fig["threshold"], abs=5e-4)
    assert rec == pytest.approx(fig["recall"], abs=5e-4) and (det, n_pos) == (fig["positives_detected"], fig["n_positive"])
    assert fah == pytest.approx(fig["false_accepts_per_hour"], abs=5e-3)
    # One recommended threshold, one recall, one FA/h: card, card sections, metrics.json.
    assert card["recommended_threshold"] == metrics["recommended_threshold"] == fig["threshold"]
    for key in ("threshold", "recall", "false_accepts_per_hour", "near_miss_accepted", "near_miss_clips"):
        assert card["metrics"][key] == fig[key], key
        assert card["held_out_evaluation"][key] == fig[key], key
    assert card["held_out_evaluation"]["kind"] == "synthetic"
    assert "validation" in card and "note" in card["validation"]  # training-time figures, named so
    # Near-misses are clips, never per hour; FA/h is over general speech only.
    assert "false_accepts_per_hour" not in metrics["by_group"]["adversarial"]
    assert fig["hours"] == pytest.approx(metrics["by_group"]["general"]["hours"])
    assert fig["near_miss_clips"] == metrics["by_group"]["adversarial"]["files"]
    # The report shows the same numbers.
    r = re.search(r'id="figures" data-threshold="([^"]+)" data-recall="([^"]+)" data-fa-per-hour="([^"]+)"', report)
    assert r and float(r[1]) == fig["threshold"] and float(r[2]) == fig["recall"]
    assert float(r[3]) == fig["false_accepts_per_hour"]
    # The real-recordings section (when a suite is given) still comes first; here none.
    assert list(card)[:2] == ["model_name", "phrase"]
