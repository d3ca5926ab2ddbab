"""The traffic charts' data: a small time series kept in the server from its own metrics.

Every ``interval_s`` the console reads the Prometheus text the server renders (the sum over
all workers) and keeps, per model version, the cumulative counters that matter: requests,
errors, the latency histogram and the batch-size sums. An hour of samples is a few hundred
small tuples. Rates and percentiles come from the differences between neighbouring samples,
so any worker answers the same charts, and a restarted worker (counters going down) only
costs one point. No Grafana, no Prometheus server needed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Point", "Snapshot", "TrafficHistory", "VersionTotals", "parse_metrics"]

log = logging.getLogger(__name__)

VersionKey = tuple[str, str]
"""(model, version)"""


@dataclass(slots=True)
class VersionTotals:
    """Cumulative counters of one model version at one moment."""

    requests: float = 0.0
    errors: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)
    """Latency histogram: upper bound in seconds -> cumulative count."""
    batch_sum: float = 0.0
    batch_count: float = 0.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: float
    """Wall-clock seconds (for the chart's time axis)."""
    versions: dict[VersionKey, VersionTotals]
    violations: dict[tuple[str, str, str], float]
    """(model, field, rule) -> contract violations so far."""


@dataclass(frozen=True, slots=True)
class Point:
    """One interval of one version: what the charts draw."""

    at: float
    rps: float
    error_rate: float | None
    p50_ms: float | None
    p99_ms: float | None
    batch_rows: float | None


def parse_metrics(text: str, at: float) -> Snapshot:
    """The counters the console charts, out of one Prometheus exposition."""
    versions: dict[VersionKey, VersionTotals] = {}
    violations: dict[tuple[str, str, str], float] = {}

    def totals(labels: dict[str, str]) -> VersionTotals:
        key = (labels.get("model", ""), labels.get("version", ""))
        found = versions.get(key)
        if found is None:
            found = versions[key] = VersionTotals()
        return found

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            name, labels, value = s.name, s.labels, float(s.value)
            if name == "modelport_requests_total":
                t = totals(labels)
                t.requests += value
                if labels.get("status") != "ok":
                    t.errors += value
            elif name == "modelport_request_duration_seconds_bucket":
                le = float(labels["le"])
                b = totals(labels).buckets
                b[le] = b.get(le, 0.0) + value
            elif name == "modelport_batch_size_rows_sum":
                totals(labels).batch_sum += value
            elif name == "modelport_batch_size_rows_count":
                totals(labels).batch_count += value
            elif name == "modelport_contract_violations_total":
                key = (labels.get("model", ""), labels.get("field", ""), labels.get("rule", ""))
                violations[key] = violations.get(key, 0.0) + value
    return Snapshot(at, versions, violations)


def _quantile(q: float, buckets: dict[float, float]) -> float | None:
    """Like PromQL's ``histogram_quantile``: linear within the bucket that holds rank q."""
    bounds = sorted(buckets)
    if not bounds:
        return None
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside > 0 else 1.0)
        lower, below = bound, count
    return lower


def interval(before: VersionTotals | None, after: VersionTotals, seconds: float,
             at: float) -> Point:
    """The point for one version between two samples (a counter reset counts from zero)."""
    old = before or VersionTotals()
    if after.requests < old.requests:
        old = VersionTotals()
    requests = after.requests - old.requests
    errors = max(after.errors - old.errors, 0.0)
    delta = {b: max(c - old.buckets.get(b, 0.0), 0.0) for b, c in after.buckets.items()}
    p50, p99 = _quantile(0.5, delta), _quantile(0.99, delta)
    rows = after.batch_count - old.batch_count
    return Point(
        at=at,
        rps=requests / seconds if seconds > 0 else 0.0,
        error_rate=errors / requests if requests > 0 else None,
        p50_ms=p50 * 1000 if p50 is not None and requests > 0 else None,
        p99_ms=p99 * 1000 if p99 is not None and requests > 0 else None,
        batch_rows=(after.batch_sum - old.batch_sum) / rows if rows > 0 else None,
    )


class TrafficHistory:
    """A ring of snapshots taken every ``interval_s`` from ``render()``."""

    def __init__(self, render: Callable[[], bytes], *, interval_s: float = 5.0,
                 keep_s: float = 3600.0, clock: Callable[[], float] = time.time) -> None:
        self._render = render
        self.interval_s = interval_s
        self._samples: deque[Snapshot] = deque(maxlen=int(keep_s / interval_s) + 2)
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> Snapshot:
        """Take one snapshot now (blocking: reads every worker's metric files)."""
        snap = parse_metrics(self._render().decode("utf-8", "replace"), self._clock())
        self._samples.append(snap)
        return snap

    async def run(self) -> None:
        """Sample until cancelled; a failed sample is logged and skipped."""
        while True:
            try:
                await asyncio.to_thread(self.sample)
            except Exception:
                log.exception("the console could not sample the server's metrics")
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    @property
    def first(self) -> Snapshot | None:
        return self._samples[0] if self._samples else None

    @property
    def latest(self) -> Snapshot | None:
        return self._samples[-1] if self._samples else None

    def series(self, last_s: float) -> dict[VersionKey, list[Point]]:
        """Per model version, one point per sampling interval over the last ``last_s``."""
        samples = list(self._samples)
        if not samples:
            return {}
        start = samples[-1].at - last_s
        out: dict[VersionKey, list[Point]] = {}
        for before, after in itertools.pairwise(samples):
            if after.at < start:
                continue
            for key, totals in after.versions.items():
                point = interval(before.versions.get(key), totals, after.at - before.at,
                                 after.at)
                out.setdefault(key, []).append(point)
        return out
