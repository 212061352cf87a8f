"""Stage 1's report: what a run produced (:class:`GenerateReport`, ``generate_report.json``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wakeforge.core.layout import CLIP_SPLITS
from wakeforge.generation.settings import GenerateSettings
from wakeforge.generation.tts.plan import ClipPlanner

REPORT_NAME = "generate_report.json"


@dataclass
class GenerateReport:
    """What a run produced (also written to ``{work_dir}/generate_report.json``)."""

    work_dir: str
    counts: dict[str, int]
    requested: dict[str, int]
    real_positives: dict[str, int]
    generated: int
    skipped: int
    rejected: int
    rejected_total: int
    reject_reasons: dict[str, int]
    engines: dict[str, int]
    voices: dict[str, int]
    voice_settings_used: dict[str, int]
    voice_settings_available: dict[str, int]
    kinds: dict[str, int]
    adversarial_phrases: int
    workers: int
    shard: str | None
    elapsed_s: float
    clips_per_s: float
    complete: bool

    def summary(self) -> str:
        lines = [
            f"clips in {self.work_dir}: "
            + ", ".join(f"{k}={v}" for k, v in self.counts.items())
            + (
                f" (real recordings: {self.real_positives})"
                if any(self.real_positives.values())
                else ""
            ),
            (
                f"this run: {self.generated} generated, {self.skipped} already done, "
                f"{self.rejected} dropped as too short/long and redrawn ({self.rejected_total} over all runs); "
                f"{self.clips_per_s:.1f} clips/s with {self.workers} worker(s) in {self.elapsed_s:.1f} s"
            ),
            "engines: " + ", ".join(f"{k}={v}" for k, v in sorted(self.engines.items())),
            (
                f"distinct voice settings used: train {self.voice_settings_used.get('train', 0)}, "
                f"test {self.voice_settings_used.get('test', 0)} (held out; available "
                f"{self.voice_settings_available.get('train', 0)} / {self.voice_settings_available.get('test', 0)}); "
                f"{self.adversarial_phrases} adversarial phrases"
            ),
        ]
        if not self.complete:
            lines.append(
                "shard finished; run without tts.shard afterwards to merge manifests and verify counts"
            )
        return "\n".join(lines)


def _report(
    s: GenerateSettings,
    planner: ClipPlanner,
    planned: Mapping[str, Mapping[str, str]],
    done: Mapping[str, Mapping[str, dict[str, Any]]],
    generated: int,
    skipped: int,
    rejected: int,
    reasons: Counter[str],
    workers: int,
    elapsed: float,
    n_todo: int,
) -> GenerateReport:
    engines: Counter[str] = Counter()
    voices: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    used: dict[str, set[str]] = {"train": set(), "test": set()}
    rejected_total = 0
    for split, recs in done.items():
        side = "test" if split.endswith("_test") else "train"
        for rec in recs.values():
            engines[rec.get("engine", "?")] += 1
            voices[rec.get("voice", "?") if rec.get("source") != "real" else "recording"] += 1
            kinds[rec.get("kind", "?")] += 1
            used[side].add(rec.get("voice_setting", "?"))
            rejected_total += int(rec.get("rejected", 0))
    available = {
        side: sum(len(v) for es in planner.pools[side].values() for v in es.values())
        for side in ("train", "test")
    }
    counts = {split: len(done[split]) for split in CLIP_SPLITS}
    real = {
        split: sum(1 for r in done[split].values() if r.get("source") == "real")
        for split in CLIP_SPLITS
    }
    complete = all(set(planned[split]) <= set(done[split]) for split in CLIP_SPLITS)
    return GenerateReport(
        work_dir=str(s.work_dir),
        counts=counts,
        requested=s.counts(),
        real_positives={k: v for k, v in real.items() if k.startswith("positive")},
        generated=generated,
        skipped=skipped,
        rejected=rejected,
        rejected_total=rejected_total,
        reject_reasons=dict(reasons),
        engines=dict(engines),
        voices=dict(voices.most_common(20)),
        voice_settings_used={k: len(v) for k, v in used.items()},
        voice_settings_available=available,
        kinds=dict(kinds),
        adversarial_phrases=len(planner.adversarial),
        workers=workers,
        shard=None if s.shard is None else f"{s.shard[0]}/{s.shard[1]}",
        elapsed_s=round(elapsed, 2),
        clips_per_s=round(generated / elapsed, 2) if elapsed > 0 and n_todo else 0.0,
        complete=complete,
    )
