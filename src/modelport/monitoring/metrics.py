"""The server's Prometheus metrics, aggregated across worker processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the supervisor does it before forking workers), every
worker writes its values to memory-mapped files in that folder and ``GET /metrics`` on any
worker renders the sum over all of them. Request-path updates are buffered
(:mod:`modelport.monitoring.buffered`) and flushed about once a second and before each scrape.
Series are bound once per (endpoint, model, version, protocol) and reused.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess
from prometheus_client import values as _values

from modelport.monitoring.buffered import BufferedCounter, BufferedHistogram

__all__ = [
    "CONTENT_TYPE",
    "MULTIPROC_ENV",
    "Metrics",
    "RequestSeries",
    "VersionSeries",
    "enable_multiprocess",
    "mark_worker_dead",
    "restore_multiprocess",
]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
LOAD_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_REQ = ("endpoint", "model", "version", "protocol")
_VER = ("model", "version")
values: Any = _values  # untyped module: reached through Any
multiprocess: Any = _multiprocess


def enable_multiprocess(path: str) -> str | None:
    """Make metrics created from now on (in this process and its forks) live in ``path``.

    prometheus_client picks its value class when first imported; if that happened before the
    variable was set, the choice is made again here. Returns the previous value, for
    :func:`restore_multiprocess`.
    """
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = path
    values.ValueClass = values.get_value_class()
    return previous


def restore_multiprocess(previous: str | None) -> None:
    """Undo :func:`enable_multiprocess` (the supervisor, once its workers are gone)."""
    if previous is None:
        os.environ.pop(MULTIPROC_ENV, None)
    else:
        os.environ[MULTIPROC_ENV] = previous
    values.ValueClass = values.get_value_class()


def mark_worker_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (in-flight, queue depth) from the aggregate."""
    path = os.environ.get(MULTIPROC_ENV)
    if path and os.path.isdir(path):
        multiprocess.mark_process_dead(pid, path)


class _Gauge:
    """A gauge whose value is kept locally and written when it changed, at flush."""

    __slots__ = ("_child", "_written", "value")

    def __init__(self, child: Any) -> None:
        self._child = child
        self.value = 0.0
        self._written = 0.0

    def flush(self) -> None:
        if self.value != self._written:
            self._written = self.value
            self._child.set(self.value)


@dataclass(slots=True)
class RequestSeries:
    """What one request updates, bound once per endpoint, model, version and protocol."""

    ok: BufferedCounter
    duration: BufferedHistogram


@dataclass(slots=True)
class VersionSeries:
    """What the batcher and cache of one loaded version update."""

    queue: BufferedHistogram
    predict: BufferedHistogram
    batch_rows: BufferedHistogram
    depth: _Gauge
    cache_hit: BufferedCounter
    cache_miss: BufferedCounter


class Metrics:
    """Every metric of one worker, on a registry of its own (so two servers in one process
    never collide)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = self.registry = registry or CollectorRegistry(auto_describe=True)
        self._flushers: list[Any] = []
        self._requests: dict[tuple[str, str, str, str], RequestSeries] = {}
        self._versions: dict[tuple[str, str], VersionSeries] = {}
        self._in_flight: dict[str, _Gauge] = {}
        self._counters: dict[tuple[int, tuple[str, ...]], BufferedCounter] = {}

        self.requests = Counter("modelport_requests", "Inference requests answered, by status "
                                "(ok or the error kind).", (*_REQ, "status"), registry=reg)
        self.duration = Histogram("modelport_request_duration_seconds", "Time inside the "
                                  "inference pipeline, per request.", _REQ,
                                  buckets=LATENCY_BUCKETS, registry=reg)
        self.queue = Histogram("modelport_queue_duration_seconds", "Time a request waited in "
                               "the batcher's queue.", _VER, buckets=LATENCY_BUCKETS, registry=reg)
        self.predict = Histogram("modelport_predict_duration_seconds", "Time of one batched "
                                 "predict call.", _VER, buckets=LATENCY_BUCKETS, registry=reg)
        self.batch_rows = Histogram("modelport_batch_size_rows", "Rows per batched predict "
                                    "call.", _VER, buckets=BATCH_BUCKETS, registry=reg)
        self.queue_depth = Gauge("modelport_queue_depth_rows", "Rows waiting in the batcher "
                                 "after its last batch.", _VER, multiprocess_mode="livesum",
                                 registry=reg)
        self.in_flight = Gauge("modelport_in_flight_requests", "Requests inside the inference "
                               "pipeline.", ("endpoint",), multiprocess_mode="livesum",
                               registry=reg)
        self.cache = Counter("modelport_cache_lookups", "Prediction cache lookups, by result "
                             "(hit or miss).", (*_VER, "result"), registry=reg)
        self.load_seconds = Histogram("modelport_model_load_duration_seconds", "Time to load "
                                      "a model version.", _VER, buckets=LOAD_BUCKETS,
                                      registry=reg)
        self.load_failures = Counter("modelport_model_load_failures", "Model versions that "
                                     "failed to load.", _VER, registry=reg)
        self.violations = Counter("modelport_contract_violations", "Data contract violations, "
                                  "by field and rule.", ("model", "field", "rule", "policy"),
                                  registry=reg)
        self.log_records = Counter("modelport_inference_log_records", "Inference log records, "
                                   "by outcome (written, dropped, failed, sampled_out).",
                                   ("outcome",), registry=reg)
        self.feedback = Counter("modelport_feedback", "Feedback labels received, by result "
                                "(accepted, unknown_request, duplicate, bad_label, invalid).",
                                ("model", "result"), registry=reg)
        self.drift_p = Gauge("modelport_drift_p_value", "Corrected p-value of the last drift "
                             "test per feature.", (*_VER, "feature", "test"),
                             multiprocess_mode="mostrecent", registry=reg)
        self.drift_stat = Gauge("modelport_drift_statistic", "Statistic of the last drift test "
                                "per feature (KS D, chi-square, PSI).", (*_VER, "feature", "test"),
                                multiprocess_mode="mostrecent", registry=reg)
        self.drift_detected = Gauge("modelport_drift_detected", "1 when the last drift check "
                                    "found drift, else 0.", _VER, multiprocess_mode="mostrecent",
                                    registry=reg)
        self.drift_features = Gauge("modelport_drift_features_drifted", "Features that drifted "
                                    "in the last check.", _VER, multiprocess_mode="mostrecent",
                                    registry=reg)
        self.performance = Gauge("modelport_performance", "Live quality from feedback "
                                 "(accuracy, auc, precision, recall, mae, rmse).",
                                 (*_VER, "metric"), multiprocess_mode="mostrecent", registry=reg)
        self.baseline = Gauge("modelport_performance_baseline", "The version's registered "
                              "metric.", (*_VER, "metric"), multiprocess_mode="mostrecent",
                              registry=reg)
        self.degraded = Gauge("modelport_performance_degraded", "1 when a live metric fell "
                              "below its baseline by more than the margin.", _VER,
                              multiprocess_mode="mostrecent", registry=reg)
        self.webhooks = Counter("modelport_webhook_deliveries", "Alert webhook deliveries, by "
                                "kind and result (delivered, failed).", ("kind", "result"),
                                registry=reg)
        self.worker = Gauge("modelport_worker_start_time_seconds", "Start time of each live "
                            "worker process.", multiprocess_mode="liveall", registry=reg)
        self.worker.set(time.time())

    # -- the request path (event loop only) -------------------------------------------------

    def request_series(self, endpoint: str, model: str, version: str, protocol: str
                       ) -> RequestSeries:
        key = (endpoint, model, version, protocol)
        found = self._requests.get(key)
        if found is None:
            found = self._requests[key] = RequestSeries(
                ok=self._keep(BufferedCounter(self.requests.labels(*key, "ok"))),
                duration=self._keep(BufferedHistogram(self.duration.labels(*key),
                                                      LATENCY_BUCKETS)),
            )
        return found

    def request_failed(self, endpoint: str, model: str, version: str, protocol: str,
                       kind: str, seconds: float) -> None:
        self.counter(self.requests, endpoint, model, version, protocol, kind).add()
        self.request_series(endpoint, model, version, protocol).duration.observe(seconds)

    def in_flight_gauge(self, endpoint: str) -> _Gauge:
        found = self._in_flight.get(endpoint)
        if found is None:
            found = self._in_flight[endpoint] = self._keep(_Gauge(self.in_flight.labels(endpoint)))
        return found

    def version_series(self, model: str, version: str) -> VersionSeries:
        key = (model, version)
        found = self._versions.get(key)
        if found is None:
            found = self._versions[key] = VersionSeries(
                queue=self._keep(BufferedHistogram(self.queue.labels(*key), LATENCY_BUCKETS)),
                predict=self._keep(BufferedHistogram(self.predict.labels(*key), LATENCY_BUCKETS)),
                batch_rows=self._keep(BufferedHistogram(self.batch_rows.labels(*key),
                                                        BATCH_BUCKETS)),
                depth=self._keep(_Gauge(self.queue_depth.labels(*key))),
                cache_hit=self._keep(BufferedCounter(self.cache.labels(*key, "hit"))),
                cache_miss=self._keep(BufferedCounter(self.cache.labels(*key, "miss"))),
            )
        return found

    def counter(self, family: Counter, *labels: str) -> BufferedCounter:
        """A buffered series of any counter family above (bound on first use)."""
        key = (id(family), labels)
        found = self._counters.get(key)
        if found is None:
            found = self._counters[key] = self._keep(BufferedCounter(family.labels(*labels)))
        return found

    def _keep(self, series: Any) -> Any:
        self._flushers.append(series)
        return series

    # -- scraping ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Hand every buffered update to prometheus_client (event loop only)."""
        for series in self._flushers:
            series.flush()

    def render(self) -> bytes:
        """The exposition text: every worker's values when in multiprocess mode."""
        self.flush()
        path = os.environ.get(MULTIPROC_ENV)
        if path and os.path.isdir(path):
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged, path=path)
            return bytes(generate_latest(merged))
        return bytes(generate_latest(self.registry))
