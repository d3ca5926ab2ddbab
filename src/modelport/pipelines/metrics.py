"""Per-step figures of a served pipeline: latency and errors, by pipeline, version and step.

The families live outside any one registry: in the server's multiprocess mode every worker
writes them to the shared metrics folder and ``GET /metrics`` reports them with the rest.
Each series is also summed in memory (:meth:`StepMetrics.summary`) for benchmarks and tests.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Histogram

__all__ = ["StepMetrics", "StepSummary"]

_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
_LABELS = ("pipeline", "version", "step")
_families: dict[str, Any] = {}
_lock = threading.Lock()


def _family(kind: str) -> Any:
    with _lock:
        if kind not in _families:
            _families["seconds"] = Histogram(
                "modelport_pipeline_step_duration_seconds",
                "Time of one pipeline step on one batch.", _LABELS, buckets=_BUCKETS,
                registry=None)
            _families["errors"] = Counter(
                "modelport_pipeline_step_errors", "Pipeline steps that raised.", _LABELS,
                registry=None)
        return _families[kind]


@dataclass(slots=True)
class StepSummary:
    calls: int = 0
    errors: int = 0
    seconds: float = 0.0


class StepMetrics:
    """The series of one loaded pipeline version, bound once per step."""

    def __init__(self, pipeline: str, version: str, steps: Sequence[str]) -> None:
        seconds, errors = _family("seconds"), _family("errors")
        self._seconds = {s: seconds.labels(pipeline, version, s) for s in steps}
        self._errors = {s: errors.labels(pipeline, version, s) for s in steps}
        self._summary = {s: StepSummary() for s in steps}

    def observe(self, step: str, seconds: float) -> None:
        self._seconds[step].observe(seconds)
        found = self._summary[step]
        found.calls += 1
        found.seconds += seconds

    def failed(self, step: str) -> None:
        self._errors[step].inc()
        self._summary[step].errors += 1

    def summary(self) -> dict[str, StepSummary]:
        """Calls, errors and total seconds per step since load."""
        return dict(self._summary)
