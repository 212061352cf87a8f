"""Train with a feature file larger than we want in RAM and report peak memory.

Writes an int16 ``[N, 16, 96]`` file of random values (default 3 GB, like the 2000-hour
ACAV100M negatives openWakeWord uses), small positive/negative class files, then trains the
head with the file as an extra ``data.feature_data_files`` class. Run it under
``/usr/bin/time -v`` to see "Maximum resident set size":

    /usr/bin/time -v .venv/bin/python scripts/large_feature_file.py --gb 3 --steps 300
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def write_random_int16(path: Path, gb: float, seed: int = 0) -> int:
    """Write the file block by block with plain writes (a memory map would count its dirty
    pages in this process's RSS and spoil the measurement)."""
    rows = int(gb * 1e9 // (16 * 96 * 2))
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    block = 20_000
    with open(path, "wb") as fh:
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.int16)), "fortran_order": False, "shape": (rows, 16, 96)}
        np.lib.format.write_array_header_1_0(fh, header)
        for s in range(0, rows, block):
            n = min(block, rows - s)
            fh.write(rng.integers(-3000, 3000, size=(n, 16, 96), dtype=np.int16).tobytes())
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gb", type=float, default=3.0)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--per-batch", type=int, default=1024, help="rows of the big file per batch")
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()

    from wakeforge.core.config import compose_config
    from wakeforge.core.layout import feature_file
    from wakeforge.pipeline.run import run_pipeline

    root = args.dir or Path(tempfile.mkdtemp(prefix="wf-large-"))
    big = root / "acav_like_int16.npy"
    t0 = time.perf_counter()
    if not big.exists():
        rows = write_random_int16(big, args.gb)
    else:
        rows = np.load(big, mmap_mode="r").shape[0]
    print(f"big file: {big} rows={rows} size={big.stat().st_size / 1e9:.2f} GB ({time.perf_counter() - t0:.0f} s to write)")
    work = root / "work"
    rng = np.random.default_rng(1)
    for cls, split, n in [("positive", "train", 200), ("positive", "test", 50), ("adversarial_negative", "train", 200), ("adversarial_negative", "test", 50)]:
        p = feature_file(work, cls, split)
        p.parent.mkdir(parents=True, exist_ok=True)
        np.save(p, (rng.standard_normal((n, 16, 96)) + (2.0 if cls == "positive" else 0.0)).astype(np.float32))
    cfg = compose_config(
        [
            "stages=[train]",
            f"work_dir={work}",
            "logger=csv",
            f"trainer.max_steps={args.steps}",
            f"trainer.val_check_interval={max(1, args.steps // 2)}",
            "trainer.enable_progress_bar=false",
            "callbacks.export.tflite=false",
            f"+data.feature_data_files.ACAV100M_sample={big}",
            "data.batch_n_per_class.positive=32",
            "data.batch_n_per_class.adversarial_negative=32",
            "data.batch_n_per_class.background=0",
            f"+data.batch_n_per_class.ACAV100M_sample={args.per_batch}",
        ],
        output_dir=root / "run",
    )
    t1 = time.perf_counter()
    result = run_pipeline(cfg)
    dt = time.perf_counter() - t1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"trained {args.steps} steps in {dt:.1f} s ({args.steps / dt:.1f} steps/s); "
          f"peak RSS {peak_mb:.0f} MB; file {big.stat().st_size / 1e9:.2f} GB; recall {result['metrics'].get('recall')}")


if __name__ == "__main__":
    main()
