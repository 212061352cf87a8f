"""report.html: self-contained (every plot a decodable PNG, every audio a decodable WAV) and
showing the numbers of metrics.json."""

from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
import soundfile as sf

from wakeforge.evaluation.html_report import write_report
from wakeforge.evaluation.report import evaluate_model

from ._synth import noise, plant_tone, write


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


@pytest.fixture(scope="module")
def evaluated(tone_head, feature_paths, tmp_path_factory):
    root = tmp_path_factory.mktemp("report_data")
    rng = np.random.default_rng(3)
    for i in range(3):
        write(root / "pos" / f"tone_{i}.wav", plant_tone(noise(2.0, rng), 0.25))
    write(root / "pos" / "missed.wav", noise(2.0, rng))
    write(root / "neg" / "general.wav", noise(12.0, rng))
    write(root / "neg" / "near.wav", plant_tone(noise(3.0, rng), 1.0))
    groups = {str(root / "neg" / "general.wav"): "general", str(root / "neg" / "near.wav"): "adversarial"}
    pos_groups = {str(root / "pos" / f"tone_{i}.wav"): "piper" for i in range(3)}
    out = tmp_path_factory.mktemp("report_out")
    res = evaluate_model(tone_head, root / "pos", root / "neg", threshold=0.5, out_dir=out,
                         feature_paths=feature_paths, negative_groups=groups, positive_groups=pos_groups)
    return res, out


def test_report_embeds_every_plot_and_clip_and_shows_the_metrics(evaluated):
    res, out = evaluated
    card = {"model_name": "tone", "phrase": "tone", "recommended_threshold": res["recommended_threshold"],
            "validation_history": [{"step": 10, "val/recall": 0.5, "val/fp_per_hour": 3.0},
                                   {"step": 20, "val/recall": 0.75, "val/fp_per_hour": 1.0}]}
    path = write_report(out, card=card)
    text = path.read_text()
    assert "http://" not in text and "https://" not in text  # nothing to fetch
    p = _Tags()
    p.feed(text)
    imgs = [a["src"] for t, a in p.tags if t == "img"]
    audios = [a["src"] for t, a in p.tags if t == "audio"]
    assert len(imgs) == 3  # DET, histogram, training curves
    for src in imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # Worst false accepts (one per negative peak, up to 5) and the 4 positives, all playable.
    assert len(audios) == len(res["worst_false_accepts"]) + len(res["worst_misses"]) >= 5
    for src in audios:
        assert src.startswith("data:audio/wav;base64,")
        audio, sr = sf.read(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert sr == 16000 and len(audio) > 1000
    metrics = json.loads((out / "metrics.json").read_text())
    fig = metrics["figures"]
    m = re.search(r'id="figures" data-threshold="([^"]+)" data-recall="([^"]+)" data-fa-per-hour="([^"]+)"', text)
    assert m and float(m.group(1)) == fig["threshold"] and float(m.group(2)) == fig["recall"]
    assert float(m.group(3)) == fig["false_accepts_per_hour"]
    # The near-miss clip fires: counted as a clip, the general speech per hour.
    assert (fig["near_miss_accepted"], fig["near_miss_clips"]) == (1, 1)
    assert "accepted 1 of 1 near-miss clips" in text
    assert "— (clips, not hours)" in text
    assert metrics["by_positive_group"]["piper"]["detected"] == 3
