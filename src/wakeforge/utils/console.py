"""The console of a run: one line per record, quiet third-party libraries, throttled progress.

:func:`setup_console` is called once at the start of every entry point (``run_pipeline``,
the stage CLIs). It

* makes every log record print once: Lightning's own stream handlers are removed and its
  loggers propagate to the root logger (Hydra's console + file handlers);
* quiets third-party chatter at its source, unless verbose (``-v`` / ``hydra.verbose=true``):
  Python warnings are filtered by message (:data:`IGNORED_WARNINGS`), libraries' loggers are
  raised to WARNING (:data:`QUIET_LOGGERS`), and TensorFlow/W&B get their own switches
  (``TF_CPP_MIN_LOG_LEVEL``, ``WANDB_SILENT``) through the environment, only where unset.
  Nothing is redirected: a library's error still reaches stderr.

:class:`ProgressLine` is the one progress display of a long step: a tqdm bar on a terminal, and
a log line every :data:`LOG_EVERY_S` seconds (count, rate, time left) when output goes to a file,
so a log of a long run stays a few lines a minute.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("wakeforge")

#: Seconds between progress lines when output is not a terminal (3 lines a minute).
LOG_EVERY_S = 20.0

#: Python warnings that say nothing a wakeforge user can act on (regex on the message).
IGNORED_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    # torch.load inside Lightning/litert at every checkpoint save and load.
    (r".*`weights_only` was not set.*", UserWarning),
    (r".*You are using `torch.load` with `weights_only=False`.*", FutureWarning),
    # torch.utils._pytree deprecations hit by the ONNX and TFLite exporters.
    (r".*LeafSpec.*", FutureWarning),
    (r".*isinstance\(treespec, LeafSpec\).*", Warning),
    # Lightning's advice for a run that is small by design (few workers, short epochs).
    (r".*does not have many workers.*", UserWarning),
    (r".*The number of training batches .* is smaller than the logging interval.*", UserWarning),
    (r".*litlogger.*", Warning),
    (r".*Starting from v1\.9\.0, `tensorboardX` has been removed.*", UserWarning),
    # W&B offline: settings Lightning passes that the offline mode ignores.
    (r".*anonymous setting has no effect.*", Warning),
    (r".*`resume` will be ignored.*", Warning),
    # The exporters' tracing notes.
    (r".*TracerWarning.*", Warning),
    (r".*Converting a tensor to a Python boolean might cause the trace to be incorrect.*", Warning),
    (r".*Exporting aten::index operator.*", UserWarning),
)

#: Loggers of other libraries that log routine INFO lines (raised to WARNING).
#: Lightning's INFO lines ("GPU available", "`weights_only` was not set" at every checkpoint, the
#: litlogger advert, "`Trainer.fit` stopped") repeat what the plan and summary say; its warnings
#: still show. ``import lightning.pytorch`` sets its level to INFO, so call this after the import.
QUIET_LOGGERS = (
    "lightning.pytorch",
    "lightning.fabric",
    "lightning",
    "pytorch_lightning",
    "absl",
    "jax",
    "jax._src.xla_bridge",
    "tensorflow",
    "litert_torch",
    "torch_xla",
    "wandb",
    "matplotlib",
    "PIL",
    "numba",
    "onnxscript",
    "torch.onnx",
    "h5py",
)

_STATE: dict[str, Any] = {"done": False, "verbose": False}


def hydra_verbose() -> bool:
    """True when Hydra runs with ``hydra.verbose`` set (``-v`` on the wakeforge command line)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return HydraConfig.initialized() and bool(HydraConfig.get().verbose)
    except Exception:
        return False


#: Lines C++ libraries (TensorFlow Lite, absl) print straight to file descriptor 2 at start-up.
NATIVE_NOISE = (
    "absl::InitializeLog",
    "oneDNN custom operations",
    "Created TensorFlow Lite XNNPACK delegate",
)


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Drop :data:`NATIVE_NOISE` lines that native code writes to file descriptor 2.

    TensorFlow Lite's runtime and converter log through absl in C++, past Python's logging and
    warnings filters, and whether ``TF_CPP_MIN_LOG_LEVEL`` silences them depends on the
    package versions. Inside the block fd 2 goes to a temporary file; afterwards every other
    line (ours included, so nothing is lost, only delayed by the block's few seconds) is written
    back. ``-v`` shows everything.
    """
    if is_verbose():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreters): nothing to filter
        yield
        return
    import tempfile

    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", errors="replace")
            kept = [ln for ln in text.splitlines(keepends=True) if not any(n in ln for n in NATIVE_NOISE)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def is_verbose() -> bool:
    return bool(_STATE["verbose"]) or os.environ.get("WAKEFORGE_VERBOSE", "") not in ("", "0")


def dedupe_lightning_handlers() -> None:
    """Lightning adds a StreamHandler of its own when the root has none at import time: remove
    it so each record goes to the root's handlers once. Safe to call repeatedly."""
    for name in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning"):
        lg = logging.getLogger(name)
        for h in list(lg.handlers):
            lg.removeHandler(h)
        lg.propagate = True


def quiet_warnings() -> None:
    """Install :data:`IGNORED_WARNINGS` (again: libraries sometimes reset filters on import)."""
    if is_verbose():
        return
    for pattern, category in IGNORED_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern, category=category)


def setup_console(verbose: bool | None = None) -> None:
    """Quiet, single-print console for a run (idempotent). See the module docstring."""
    if verbose is None:
        verbose = hydra_verbose()
    _STATE["verbose"] = bool(verbose) or _STATE["verbose"]
    if is_verbose():
        os.environ["WAKEFORGE_VERBOSE"] = "1"  # worker processes inherit it
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow/LiteRT C++ INFO+WARNING
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
        os.environ.setdefault("WANDB_SILENT", "true")  # W&B's banner and offline notes
        os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")
        quiet_warnings()
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    # Records of libraries that log on the root logger directly still print once.
    dedupe_lightning_handlers()
    root = logging.getLogger()
    if not root.handlers:  # outside Hydra (library use, tests): one plain console handler
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(ConsoleFormatter())
        root.addHandler(h)
        root.setLevel(logging.INFO)
    logging.getLogger("wakeforge").setLevel(logging.DEBUG if is_verbose() else logging.INFO)
    _STATE["done"] = True


class ConsoleFormatter(logging.Formatter):
    """``HH:MM:SS message``; warnings and errors say so (``HH:MM:SS warning: ...``).

    With ``-v`` the logger name is shown too, as Hydra's default format does.
    """

    def __init__(self, fmt: str | None = None, datefmt: str | None = "%H:%M:%S", **_: Any) -> None:
        super().__init__(fmt or "%(asctime)s %(message)s", datefmt=datefmt or "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        stamp = self.formatTime(record, self.datefmt)
        body = text[len(stamp) + 1:] if text.startswith(stamp) else text
        if is_verbose():
            body = f"[{record.name}] {body}"
        if record.levelno >= logging.ERROR:
            body = f"error: {body}"
        elif record.levelno >= logging.WARNING:
            body = f"warning: {body}"
        return f"{stamp} {body}"


def fmt_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``.

    Example:
        >>> fmt_duration(4.2), fmt_duration(185), fmt_duration(3720)
        ('4.2 s', '3 min 05 s', '1 h 02 min')
    """
    s = max(0.0, float(seconds))
    if s < 10:
        return f"{s:.1f} s"
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressLine:
    """One progress display for a long step: tqdm on a terminal, throttled log lines otherwise.

    Args:
        total: Units to do (clips, rows, steps).
        desc: What is running (``generate``, ``augment``, ``train``).
        unit: Unit name, singular (``clip``).
        enabled: ``False`` shows nothing at all.
        every_s: Seconds between log lines when not on a terminal.
        initial: Units already done (resumed work).

    Example:
        >>> p = ProgressLine(10, "demo", enabled=False); p.update(3); p.n
        3
    """

    def __init__(self, total: int, desc: str, unit: str = "item", *, enabled: bool = True,
                 every_s: float = LOG_EVERY_S, initial: int = 0, logger: logging.Logger | None = None) -> None:
        self.total = int(total)
        self.desc = desc
        self.unit = unit
        self.n = int(initial)
        self._start_n = int(initial)
        self.every_s = float(every_s)
        self.postfix = ""
        self.t0 = time.perf_counter()
        self._last = self.t0
        self._log = logger or logging.getLogger("wakeforge.progress")
        self._bar = None
        self.enabled = enabled
        if enabled and stderr_is_terminal():
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, initial=self.n, desc=desc, unit=unit, dynamic_ncols=True,
                             mininterval=0.5, smoothing=0.05, leave=False, file=sys.stderr)

    def rate(self) -> float:
        dt = time.perf_counter() - self.t0
        return (self.n - self._start_n) / dt if dt > 0 else 0.0

    def eta_s(self) -> float | None:
        r = self.rate()
        return (self.total - self.n) / r if r > 0 else None

    def update(self, n: int = 1) -> None:
        self.n += int(n)
        if self._bar is not None:
            self._bar.update(int(n))
            return
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last >= self.every_s and self.n < self.total:
            self._last = now
            self._log.info("%s", self.line())

    def skip(self, n: int) -> None:
        """Count ``n`` units done before this run (resumed work): not part of the rate."""
        self.n += int(n)
        self._start_n += int(n)
        if self._bar is not None:
            self._bar.update(int(n))

    def set_postfix(self, text: str) -> None:
        self.postfix = text
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)

    def line(self) -> str:
        pct = 100.0 * self.n / self.total if self.total else 100.0
        eta = self.eta_s()
        rate = self.rate()
        rate_s = f"{rate:.1f} {self.unit}s/s" if rate >= 1 else (f"{1 / rate:.1f} s/{self.unit}" if rate > 0 else "")
        parts = [f"{self.desc}: {self.n}/{self.total} {self.unit}s ({pct:.0f} %)"]
        if rate_s:
            parts.append(rate_s)
        if eta is not None:
            parts.append(f"about {fmt_duration(eta)} left")
        if self.postfix:
            parts.append(self.postfix)
        return ", ".join(parts)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["ConsoleFormatter", "ProgressLine", "fmt_duration", "setup_console", "quiet_warnings",
           "dedupe_lightning_handlers", "is_verbose"]
