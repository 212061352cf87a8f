"""False accepts per hour on an hour or more of held-out general speech, side by side.

    python scripts/heldout_false_accepts.py --work data/detection/hey_jarvis \\
        --clips 3600 --out /tmp/heldout_general \\
        --models data/detection/hey_jarvis/hey_jarvis.onnx ~/.cache/wakeforge/oww_models/hey_jarvis_v0.1.onnx

A default run's own held-out split holds ~0.3 h of general speech: too little to tell 1 false
accept per hour from 4. This script synthesises ``--clips`` general sentences (stage 1 with
``data.n_negative_val=N``, ``data.adversarial_fraction=0``) in voice settings held out from
training (the same seed gives the same train/test voice split as the run), then scores every
model through the detector's streaming path (``wakeforge.evaluation.report.evaluate_model``) on the
run's held-out positives and these negatives. It prints, per model: recall at 0.5, false
accepts and false accepts per hour at 0.5, and the recall at the lowest threshold that keeps
``--target`` false accepts per hour. Generation resumes (stage 1's manifest); the clips stay in
``--out`` for reruns. Every number is also written to ``{out}/results.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", required=True, type=Path, help="a trained model's work folder (its positive_test is used)")
    p.add_argument("--models", nargs="+", required=True, help=".onnx/.tflite heads to compare")
    p.add_argument("--out", required=True, type=Path, help="folder for the held-out general clips and results")
    p.add_argument("--clips", type=int, default=3600, help="general sentences to synthesise (default 3600, ~1.2 h)")
    p.add_argument("--phrase", default="hey jarvis", help="the wake phrase (never spoken in the sentences)")
    p.add_argument("--seed", type=int, default=12345, help="the run's seed (same held-out voices)")
    p.add_argument("--target", type=float, default=1.0, help="false accepts per hour for the recall figure")
    args = p.parse_args()

    cmd = [
        sys.executable, "-m", "wakeforge.generate", f"data.phrase={args.phrase}", f"seed={args.seed}",
        "data.n_samples=1", "data.n_samples_val=1", "data.n_negative=1",
        f"data.n_negative_val={args.clips}", "data.adversarial_fraction=0",
        f"output_dir={args.out}", "logger=none",
    ]
    subprocess.run(cmd, check=True)
    from wakeforge.core.config import slugify
    from wakeforge.evaluation.report import evaluate_model

    negatives = args.out / slugify(args.phrase) / "negative_test"
    results = {}
    for model in args.models:
        r = evaluate_model(model, [args.work / "positive_test"], [negatives], threshold=0.5,
                           target_fa_per_hour=args.target, workers=0)
        thr = r["threshold_at_target"]
        results[model] = {
            "recall": r["recall"], "false_accepts": r["false_accepts"],
            "false_accepts_per_hour": r["false_accepts_per_hour"], "negative_hours": r["negative_hours"],
            "n_negative_files": r["n_negative_files"], "n_positive": r["n_positive"],
            "threshold_at_target": thr, "recall_at_target": r["recall_at_target"],
        }
        m = results[model]
        print(f"{model}: recall {m['recall']:.3f} at 0.5, {m['false_accepts']} false accepts in "
              f"{m['negative_hours']:.2f} h ({m['false_accepts_per_hour']:.2f}/h); <= {args.target:g} FA/h "
              f"at threshold {thr} with recall {m['recall_at_target']}", flush=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
