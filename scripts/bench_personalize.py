"""Benchmark personal adaptation on real recordings (issue: a personal model from a few takes).

    python scripts/bench_personalize.py --base data/detection/computer --suite ../shared/realworld-dev \\
        --phrase computer --n-adapt 20 --out logs/bench_personalize

Splits the suite's ``positives/<phrase>/`` by file (sorted by a hash of the file name) into an
adaptation set of ``--n-adapt`` clips and the rest as test clips. This split is the only place
where suite files are given to training, and only inside this benchmark: the adaptation set is
linked into ``{out}/adapt/`` and passed to ``python -m wakeforge.personalize`` as the household's
recordings; ``{out}/suite/`` links the test clips, the other phrases, the negatives and the noise.
Then both models are benchmarked there (``wakeforge.evaluation.benchmark``, the same counting as
``python -m wakeforge.benchmark``) at the base model's recommended threshold, and the table, the
adaptation's wall time and the goal check are printed and written to ``{out}/result.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _link_dir(src: Path, dst: Path, files: list[Path] | None = None) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for f in files if files is not None else sorted(src.iterdir()):
        target = dst / f.name
        if not target.exists():
            os.symlink(f.resolve(), target)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, help="trained model (.onnx or its folder)")
    p.add_argument("--suite", default=str(Path(__file__).resolve().parents[2] / "shared" / "realworld-dev"))
    p.add_argument("--phrase", default=None, help="positives folder of the model's phrase (default: from its card)")
    p.add_argument("--n-adapt", type=int, default=20)
    p.add_argument("--out", required=True)
    p.add_argument("overrides", nargs="*", help="extra overrides for personalize (finetune.steps=...)")
    args = p.parse_args()

    from wakeforge.evaluation.benchmark import ModelSpec, format_tables, load_suite, run_benchmark, slug
    from wakeforge.features.assets import default_cache_dir
    from wakeforge.personal.base import find_model, read_card

    base_onnx = find_model(args.base)
    card = read_card(base_onnx)
    phrase = slug(args.phrase or card.get("phrase") or base_onnx.stem)
    suite = load_suite(args.suite)
    if phrase not in suite.positives:
        raise SystemExit(f"no positives/{phrase}/ in {args.suite}")
    files = sorted(suite.positives[phrase], key=lambda f: hashlib.sha1(f.name.encode()).hexdigest())
    adapt, test = files[: args.n_adapt], files[args.n_adapt :]
    out = Path(args.out)
    _link_dir(Path(), out / "adapt", adapt)
    sroot = out / "suite"
    pos_dirs = {slug(d.name): d for d in (Path(args.suite) / "positives").iterdir() if d.is_dir()}
    for name, d in pos_dirs.items():
        _link_dir(d, sroot / "positives" / d.name, test if name == phrase else None)
    for part in ("negatives", "noise"):
        for d in sorted((Path(args.suite) / part).iterdir()):
            if d.is_dir():
                _link_dir(d, sroot / part / d.name)
    model_dir = out / "model"
    name = f"{base_onnx.stem}_personal"
    cmd = [sys.executable, "-m", "wakeforge.personalize", "--model", str(base_onnx), "--recordings",
           str(out / "adapt"), "--out", str(model_dir), "--name", name, *args.overrides]
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd)
    wall = time.perf_counter() - t0
    print(f"personalize: exit {proc.returncode} in {wall:.0f} s", flush=True)
    personal = model_dir / f"{name}.onnx"
    thr = float(card.get("recommended_threshold", 0.5))
    specs = [ModelSpec("base", base_onnx, phrase, thr)]
    if proc.returncode == 0:
        specs.append(ModelSpec("personal", personal, phrase, thr))
    result = run_benchmark(sroot, specs, cache_dir=default_cache_dir() / "benchmark", out_dir=out / "bench",
                           threshold=thr)
    print(format_tables(result), flush=True)
    rows = {}
    for m in result["models"]:
        at = m.get("at_card_threshold", {})
        rows[m["label"]] = {"recall": at.get("recall"), "noisy_recall": at.get("noisy_recall"),
                            "fa_per_hour_all": at.get("false_accepts_per_hour"),
                            "fa_per_hour_speech": _fa_at(m, sroot, thr)}
    summary = {"phrase": phrase, "threshold": thr, "n_adapt": len(adapt), "n_test": len(test),
               "personalize_exit": proc.returncode, "personalize_wall_s": round(wall, 1), "models": rows}
    if "personal" in rows:
        b, a = rows["base"], rows["personal"]
        gap = 1.0 - b["recall"]
        summary["gap_closed"] = (a["recall"] - b["recall"]) / gap if gap > 0 else None
        summary["extra_fa_per_hour_all"] = a["fa_per_hour_all"] - b["fa_per_hour_all"]
        summary["goal_met"] = bool(summary["gap_closed"] is not None and summary["gap_closed"] >= 0.5
                                   and summary["extra_fa_per_hour_all"] <= 0.5 and wall <= 300)
    (out / "result.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2), flush=True)
    return 0


def _fa_at(model: dict, sroot: Path, thr: float) -> float | None:
    """False accepts per hour at ``thr`` on the suite's real speech sets (not the other phrases)."""
    fa = model.get("false_accepts_per_hour_at_threshold") or {}
    hours = model.get("negative_hours") or {}
    if abs(float(model.get("threshold", 0.5)) - thr) > 1e-9:
        return None  # the per-set column is at the table threshold only
    sets = [k for k in fa if not k.startswith("phrase:") and "noise" not in k and fa[k] is not None]
    total_h = sum(hours[k] for k in sets)
    return sum(fa[k] * hours[k] for k in sets) / total_h if total_h else None


if __name__ == "__main__":
    sys.exit(main())
