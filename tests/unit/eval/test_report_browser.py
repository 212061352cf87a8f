"""report.html in a real browser: headless Chromium (Debian's ``chromium``) draws every plot and
loads every audio element.

Chromium's command line only: a copy of the report gets a small script that, once the page and
every ``<audio>``'s metadata have loaded, writes what it found into the DOM
(``--dump-dom --virtual-time-budget``); a ``--screenshot`` shows the plots were painted.
Skipped with the reason where no Chromium is installed (``apt-get install chromium``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

pytestmark = pytest.mark.slow

_CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)

_PROBE = """
<script>
(function () {
  function report() {
    var imgs = Array.from(document.images).map(function (i) {
      return {w: i.naturalWidth, h: i.naturalHeight, complete: i.complete};
    });
    var auds = Array.from(document.querySelectorAll('audio')).map(function (a) {
      return {state: a.readyState, duration: a.duration, error: a.error ? a.error.code : null};
    });
    var out = document.createElement('pre');
    out.id = 'probe';
    out.textContent = JSON.stringify({imgs: imgs, auds: auds});
    document.body.appendChild(out);
  }
  window.addEventListener('load', function () {
    var auds = Array.from(document.querySelectorAll('audio'));
    var left = auds.length;
    if (!left) { report(); return; }
    auds.forEach(function (a) {
      function done() { left -= 1; if (left === 0) report(); }
      if (a.readyState >= 1) { done(); return; }
      a.addEventListener('loadedmetadata', done, {once: true});
      a.addEventListener('error', done, {once: true});
      a.load();
    });
  });
})();
</script>
"""


def _chromium(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run([_CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--mute-audio",
                           "--autoplay-policy=no-user-gesture-required", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(_CHROMIUM is None, reason="no headless Chromium installed (Debian: apt-get install chromium)")
def test_report_renders_in_chromium(tone_head_report, tmp_path):
    html_path, n_imgs, n_audio = tone_head_report
    probe = tmp_path / "probe.html"
    probe.write_text(html_path.read_text().replace("</body>", _PROBE + "</body>"))
    dom = _chromium("--virtual-time-budget=15000", "--dump-dom", probe.as_uri())
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert m, dom.stderr[-2000:]
    found = json.loads(m.group(1).replace("&quot;", '"'))
    assert len(found["imgs"]) == n_imgs
    for img in found["imgs"]:
        assert img["complete"] and img["w"] > 300 and img["h"] > 150, img
    assert len(found["auds"]) == n_audio
    for a in found["auds"]:
        assert a["error"] is None and a["state"] >= 1 and a["duration"] > 0.05, a
    shot = tmp_path / "shot.png"
    _chromium(f"--screenshot={shot}", "--window-size=1200,2400", html_path.as_uri())
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB"))
    # Painted plots: many colours (lines, fills, text), not a blank page.
    colours = len(np.unique(img.reshape(-1, 3) // 8, axis=0))
    assert colours > 50, colours


@pytest.fixture
def tone_head_report(tone_head, feature_paths, tmp_path):
    """A report of the planted-tone head of the eval unit tests (DET, histogram, curves)."""
    from wakeforge.evaluation.html_report import write_report
    from wakeforge.evaluation.report import evaluate_model

    from ._synth import noise, plant_tone, write

    rng = np.random.default_rng(5)
    for i in range(3):
        write(tmp_path / "pos" / f"t{i}.wav", plant_tone(noise(2.0, rng), 0.25))
    write(tmp_path / "pos" / "miss.wav", noise(2.0, rng))
    write(tmp_path / "neg" / "general.wav", plant_tone(noise(8.0, rng), 3.0))
    res = evaluate_model(tone_head, tmp_path / "pos", tmp_path / "neg", out_dir=tmp_path / "eval",
                         feature_paths=feature_paths)
    card = {"model_name": "tone", "validation_history": [{"step": 1, "val/recall": 0.1}, {"step": 2, "val/recall": 0.9}]}
    path = write_report(tmp_path / "eval", card=card)
    return path, 3, len(res["worst_false_accepts"]) + len(res["worst_misses"])
