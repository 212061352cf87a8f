"""Callbacks whose outcome :func:`wakeforge.training.run.run_training` returns.

Training runs before export and evaluation in the data flow, so it does not import them: the
export callback (:mod:`wakeforge.export.callback`) and the held-out evaluation
(:mod:`wakeforge.evaluation.callbacks`) subclass :class:`ReportingCallback` and name their
report; ``run_training`` finds them in ``trainer.callbacks`` by that name.
"""

from __future__ import annotations

from lightning.pytorch import Callback


class ReportingCallback(Callback):
    """A Lightning callback that leaves a result for the run's summary under ``report_name``."""

    report_name: str = ""


def reporters(callbacks: list[Callback]) -> dict[str, ReportingCallback]:
    """``{report_name: callback}`` of the reporting callbacks in ``callbacks``."""
    return {c.report_name: c for c in callbacks if isinstance(c, ReportingCallback) and c.report_name}
