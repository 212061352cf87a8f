"""The console helpers: one print per record, third-party warnings filtered, throttled progress."""

from __future__ import annotations

import io
import logging
import re
import warnings

from wakeforge.utils import console
from wakeforge.utils.console import ConsoleFormatter, ProgressLine, fmt_duration, setup_console


def test_progress_line_logs_rate_and_eta_when_not_a_terminal(caplog):
    p = ProgressLine(100, "generate", "clip", every_s=0.0)
    with caplog.at_level(logging.INFO, logger="wakeforge.progress"):
        p.skip(10)          # resumed work: counted, not part of the rate
        for _ in range(3):
            p.update(5)
        p.update(75)        # done: no line for the last update
    p.close()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert re.match(r"generate: 15/100 clips \(15 %\), .*clips/s, about .* left$", lines[0]), lines[0]
    assert lines[-1].startswith("generate: 25/100 clips")
    assert p.n == 100


def test_progress_line_is_throttled(caplog):
    p = ProgressLine(1000, "augment", "row", every_s=3600.0)
    with caplog.at_level(logging.INFO, logger="wakeforge.progress"):
        for _ in range(999):
            p.update(1)
    assert caplog.records == []
    assert ProgressLine(5, "x", enabled=False).line().startswith("x: 0/5 items")


def test_setup_console_filters_library_warnings_and_prints_each_record_once():
    lg = logging.getLogger("lightning.pytorch")
    own = logging.StreamHandler(io.StringIO())
    lg.addHandler(own)          # what Lightning does when imported before logging is set up
    lg.propagate = False
    buf = io.StringIO()
    root = logging.getLogger()
    h = logging.StreamHandler(buf)
    h.setFormatter(ConsoleFormatter())
    root.addHandler(h)
    old = root.level
    root.setLevel(logging.INFO)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            setup_console(verbose=False)
            warnings.warn("Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD: `weights_only` was not set, "
                          "defaulting to `False`.", UserWarning)
            warnings.warn("isinstance(treespec, LeafSpec) is deprecated", FutureWarning)
            warnings.warn("something a user should see", UserWarning)
        assert [str(w.message) for w in caught] == ["something a user should see"]
        assert own not in lg.handlers and lg.propagate
        logging.getLogger("wakeforge.x").info("a wakeforge line")
        logging.getLogger("lightning.pytorch.utilities.rank_zero").info("💡 Tip: try litlogger")
        logging.getLogger("lightning.pytorch.trainer.connectors.checkpoint_connector").info("`weights_only` was not set")
        logging.getLogger("lightning.pytorch.utilities.rank_zero").warning("a real warning")
        text = buf.getvalue()
        assert text.count("a wakeforge line") == 1
        assert "litlogger" not in text and "weights_only" not in text
        assert re.search(r"^\d\d:\d\d:\d\d warning: a real warning$", text, re.M), text
    finally:
        root.removeHandler(h)
        root.setLevel(old)


def test_verbose_shows_logger_names(monkeypatch):
    monkeypatch.setitem(console._STATE, "verbose", True)
    rec = logging.LogRecord("wakeforge.x", logging.INFO, __file__, 1, "hello", None, None)
    assert ConsoleFormatter().format(rec).endswith("[wakeforge.x] hello")
    monkeypatch.setitem(console._STATE, "verbose", False)
    monkeypatch.delenv("WAKEFORGE_VERBOSE", raising=False)
    assert re.fullmatch(r"\d\d:\d\d:\d\d hello", ConsoleFormatter().format(rec))


def test_fmt_duration():
    assert (fmt_duration(4.24), fmt_duration(59), fmt_duration(61), fmt_duration(7300)) == (
        "4.2 s", "59 s", "1 min 01 s", "2 h 01 min")
