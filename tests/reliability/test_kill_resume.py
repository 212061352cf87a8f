"""Kill each stage with SIGKILL at a random point, rerun it, compare with an uninterrupted run.

For every stage (``python -m wakeforge.generate | wakeforge.augment | wakeforge.train``):

1. run it uninterrupted in root A (the reference; same seed);
2. start it in root B, SIGKILL its whole process group once a random amount of output exists;
3. rerun the same command in B to completion;
4. compare: sha256 of every clip (generate), of every feature file (augment); for training,
   the resumed run must start from the killed run's ``last.ckpt`` step, end at
   ``trainer.max_steps``, and its weights, ONNX export and validation history must equal A's.

The stage 1 runs use the Piper engine only: espeak-ng keeps global state between utterances in a
process, so its clips depend on scheduling (see ``test_determinism.py``). Set
``WAKEFORGE_KILL_SEED`` to replay the same kill points. Measured numbers are printed (``-s``).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
WORK = Path("data/detection/hey_jarvis")
SEED = int(os.environ.get("WAKEFORGE_KILL_SEED", random.SystemRandom().randrange(1 << 30)))
RNG = random.Random(SEED)
print(f"kill/resume: WAKEFORGE_KILL_SEED={SEED}")

GENERATE = ["experiment=smoke", "tts.engines=[piper]", "num_workers=2", "tts.progress=false"]
# rounds=4: enough rows that the augment run lasts seconds past start-up (a negative clip now
# gives 8 rows per block pass, so the smoke set alone is done in about a second).
AUGMENT = ["experiment=smoke", "augmentation.batch_size=4", "augmentation.rounds=4"]
TRAIN = ["experiment=smoke", "stages=[train]", "trainer.max_steps=600", "trainer.val_check_interval=50",
         "trainer.enable_progress_bar=false", "++callbacks.held_out_evaluation=null"]
ENV = {**os.environ, "WANDB_MODE": "disabled", "HYDRA_FULL_ERROR": "1", "PYTHONUNBUFFERED": "1"}


def _cmd(module: str, args: list[str], root: Path) -> list[str]:
    return [sys.executable, "-m", module, *args, f"paths.root_dir={root}"]


def run(module: str, args: list[str], root: Path, timeout: int = 600) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(_cmd(module, args, root), cwd=root, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return time.perf_counter() - t0, out.stdout + out.stderr


def run_and_kill(module: str, args: list[str], root: Path, ready: Callable[[], bool], max_delay: float,
                 timeout: float = 600) -> float:
    """Start the stage; once ``ready()``, wait a random 0..``max_delay`` s (so the kill lands
    anywhere: mid-clip, mid-block, mid-checkpoint-write), then SIGKILL its process group.
    Returns the seconds it ran."""
    root.mkdir(parents=True, exist_ok=True)
    log = open(root / "killed_run.log", "w")
    proc = subprocess.Popen(_cmd(module, args, root), cwd=root, env=ENV, start_new_session=True, stdout=log,
                            stderr=subprocess.STDOUT)
    t0 = time.perf_counter()
    try:
        while not ready():
            if proc.poll() is not None:
                log.close()
                pytest.fail(f"{module} ended (rc {proc.returncode}) before the kill point:\n"
                            + (root / "killed_run.log").read_text()[-3000:])
            if time.perf_counter() - t0 > timeout:
                pytest.fail(f"{module}: kill point not reached in {timeout} s")
            time.sleep(0.02)
        time.sleep(RNG.uniform(0.0, max_delay))
        if proc.poll() is not None:
            pytest.fail(f"{module} finished during the random delay before the kill; lower max_delay")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()
    return time.perf_counter() - t0


def hashes(folder: Path, pattern: str) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob(pattern)) if p.is_file() and not p.name.startswith(".tmp-")}


def _wav_count(work: Path) -> int:
    return sum(1 for s in ("positive_train", "positive_test", "negative_train", "negative_test")
               for _ in (work / s).glob("[0-9]*.wav")) if work.exists() else 0


def _rows_done(work: Path) -> int:
    feats = work / "features"
    if not feats.is_dir():
        return 0
    n = 0
    for side in feats.glob("*.partial.json"):
        try:
            n += sum(b - a for a, b in json.loads(side.read_text())["done"])
        except (ValueError, KeyError, OSError):
            pass
    for f in feats.glob("*_features_*.npy"):
        if not f.name.endswith(".partial.npy"):
            try:
                n += int(np.load(f, mmap_mode="r").shape[0])
            except (ValueError, OSError):
                pass
    return n


def _ckpt_step(path: Path) -> int | None:
    import torch

    try:
        return int(torch.load(path, map_location="cpu", weights_only=False)["global_step"])
    except Exception:
        return None


def _last_ckpt(work: Path) -> Path | None:
    found = sorted((work / "checkpoints").glob("*/last.ckpt")) if (work / "checkpoints").exists() else []
    return found[0] if found else None


# ---------------------------------------------------------------------------------------------
# The reference runs (root A), shared by the three tests
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("A")
    t_gen, _ = run("wakeforge.generate", GENERATE, root)
    t_aug, _ = run("wakeforge.augment", AUGMENT, root)
    t_train, _ = run("wakeforge.train", TRAIN, root)
    print(f"reference runs: generate {t_gen:.1f} s, augment {t_aug:.1f} s, train {t_train:.1f} s")
    return {"root": root, "work": root / WORK}


def _copy_clips(src: Path, dst: Path) -> None:
    for split in ("positive_train", "positive_test", "negative_train", "negative_test"):
        shutil.copytree(src / split, dst / split)


def test_generate_killed_then_rerun_equals_uninterrupted(reference, tmp_path: Path) -> None:
    ref = reference["work"]
    total = _wav_count(ref)
    target = RNG.randint(5, total - 40)
    root = tmp_path / "B"
    work = root / WORK
    ran = run_and_kill("wakeforge.generate", GENERATE, root, lambda: _wav_count(work) >= target, max_delay=1.0)
    killed_at = _wav_count(work)
    t, out = run("wakeforge.generate", GENERATE, root)
    a, b = hashes(ref, "*.wav"), hashes(work, "*.wav")
    print(f"generate: killed after {ran:.1f} s with {killed_at}/{total} clips (target {target}); rerun {t:.1f} s; "
          f"{sum(a[k] == b.get(k) for k in a)}/{len(a)} WAV hashes equal")
    assert 0 < killed_at < total
    assert "already done" in out
    assert a == b


def test_augment_killed_then_rerun_equals_uninterrupted(reference, tmp_path: Path) -> None:
    ref = reference["work"]
    total = _rows_done(ref)
    target = RNG.randint(4, total // 2)
    root = tmp_path / "B"
    work = root / WORK
    _copy_clips(ref, work)
    ran = run_and_kill("wakeforge.augment", AUGMENT, root, lambda: _rows_done(work) >= target, max_delay=0.5)
    killed_at = _rows_done(work)
    partial = sorted(p.name for p in (work / "features").glob("*.partial.npy"))
    t, _ = run("wakeforge.augment", AUGMENT, root)
    a, b = hashes(ref / "features", "*.npy"), hashes(work / "features", "*.npy")
    print(f"augment: killed after {ran:.1f} s with {killed_at}/{total} rows (target {target}, partial {partial}); "
          f"rerun {t:.1f} s; {sum(a[k] == b.get(k) for k in a)}/{len(a)} feature file hashes equal")
    assert 0 < killed_at < total
    assert not list((work / "features").glob("*.partial.*"))
    assert a == b and len(a) == 5


def test_train_killed_then_resumed_equals_uninterrupted(reference, tmp_path: Path) -> None:
    import torch

    ref = reference["work"]
    root = tmp_path / "B"
    work = root / WORK
    shutil.copytree(ref / "features", work / "features")
    # Up to ~200 steps/s on 2 cores: a target of at most 150 plus the <= 1 s random delay
    # lands well before step 600.
    target = RNG.choice([50, 100, 150])

    def ready() -> bool:
        last = _last_ckpt(work)
        step = _ckpt_step(last) if last else None
        return step is not None and step >= target

    ran = run_and_kill("wakeforge.train", TRAIN, root, ready, max_delay=1.0)
    last = _last_ckpt(work)
    assert last is not None
    killed_step = _ckpt_step(last)
    t, out = run("wakeforge.train", TRAIN, root)
    m = re.search(r"resuming from \S+last\.ckpt \(step (\d+)\)", out)
    resumed_from = int(m.group(1)) if m else None
    ref_ckpt = torch.load(_last_ckpt(ref), map_location="cpu", weights_only=False)
    new_ckpt = torch.load(_last_ckpt(work), map_location="cpu", weights_only=False)
    dw = max(float((ref_ckpt["state_dict"][k].float() - new_ckpt["state_dict"][k].float()).abs().max())
             for k in ref_ckpt["state_dict"])
    onnx_equal = hashes(ref, "*.onnx") == hashes(work, "*.onnx")
    hist = lambda p: json.loads((p / "metrics.json").read_text())["history"]  # noqa: E731
    print(f"train: killed after {ran:.1f} s at last.ckpt step {killed_step} (target {target}); resumed from step "
          f"{resumed_from}; rerun {t:.1f} s; final step {new_ckpt['global_step']} (reference "
          f"{ref_ckpt['global_step']}); max |weight diff| {dw:.3g}; ONNX identical: {onnx_equal}")
    assert killed_step is not None and target <= killed_step < 600, "the kill landed after training ended"
    assert resumed_from == killed_step
    assert new_ckpt["global_step"] == ref_ckpt["global_step"] == 600
    assert dw == 0.0
    assert onnx_equal
    assert hist(work) == hist(ref)
