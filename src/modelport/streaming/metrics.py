"""Prometheus metrics of one scorer, on a registry of its own, served on its own port.

A scorer is its own process, so it keeps its own ``CollectorRegistry`` rather than the
server-wide one; ``serve`` exposes it at ``http://HOST:PORT/metrics``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import start_http_server
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["BulkHistogram", "StreamMetrics"]

_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
_LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


class StreamMetrics:
    """Counters, histograms and gauges of one scorer, labelled with its model."""

    def __init__(self, model: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        labels = ("model",)
        reg = self.registry
        self.consumed = Counter(
            "modelport_stream_consumed", "Messages read from the source.", labels, registry=reg
        ).labels(model)
        self.produced = Counter(
            "modelport_stream_produced",
            "Output records written to the sink (replays skipped by the sink not counted).",
            labels,
            registry=reg,
        ).labels(model)
        self.duplicates = Counter(
            "modelport_stream_duplicates_skipped",
            "Output records the sink had already written (a replay after a crash).",
            labels,
            registry=reg,
        ).labels(model)
        self._dead = Counter(
            "modelport_stream_dead_lettered",
            "Messages sent to the dead-letter stream, by error kind.",
            ("model", "kind"),
            registry=reg,
        )
        self.errors = Counter(
            "modelport_stream_errors",
            "Failed attempts to read, write or acknowledge (retried).",
            labels,
            registry=reg,
        ).labels(model)
        self.batch_size = Histogram(
            "modelport_stream_batch_size",
            "Messages per micro-batch.",
            labels,
            buckets=_BATCH_BUCKETS,
            registry=reg,
        ).labels(model)
        self.latency = BulkHistogram(
            "modelport_stream_end_to_end_latency_seconds",
            "From the event entering the source stream to its output being written.",
            _LATENCY_BUCKETS,
            model,
        )
        reg.register(self.latency)
        self.lag = Gauge(
            "modelport_stream_consumer_lag",
            "Entries in the source not yet delivered to the consumer group.",
            labels,
            registry=reg,
        ).labels(model)
        self.pending = Gauge(
            "modelport_stream_pending",
            "Entries delivered to the consumer group but not yet acknowledged.",
            labels,
            registry=reg,
        ).labels(model)
        self.in_flight = Gauge(
            "modelport_stream_in_flight",
            "Messages read by this scorer and not yet acknowledged.",
            labels,
            registry=reg,
        ).labels(model)
        self._model = model
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def dead_lettered(self, kind: str, count: int = 1) -> None:
        self._dead.labels(self._model, kind).inc(count)

    def serve(self, port: int, host: str = "0.0.0.0") -> int:
        """Serve ``/metrics`` on ``host:port`` in a daemon thread; returns the bound port."""
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        return int(self._server.server_port)

    def render(self) -> bytes:
        """The exposition text, as the endpoint serves it."""
        return bytes(generate_latest(self.registry))

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class BulkHistogram(Collector):
    """A histogram fed a whole micro-batch of observations in one numpy call.

    ``prometheus_client.Histogram.observe`` costs microseconds per call, which per event would
    be a visible share of the scoring loop; one ``observe_many`` per batch costs about as much
    as one ``observe``.
    """

    def __init__(self, name: str, documentation: str, buckets: Sequence[float], model: str):
        self._name = name
        self._doc = documentation
        self._model = model
        self._bounds = np.asarray(buckets, dtype=np.float64)
        self._counts = np.zeros(len(buckets) + 1, dtype=np.int64)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe_many(self, values: Sequence[float] | np.ndarray[Any, Any]) -> None:
        array = np.asarray(values, dtype=np.float64)
        if array.size == 0:
            return
        found = np.bincount(
            np.searchsorted(self._bounds, array, side="left"), minlength=self._counts.size
        )
        with self._lock:
            self._counts += found
            self._sum += float(array.sum())

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            cumulative = np.cumsum(self._counts).tolist()
            total = self._sum
        buckets = [
            (repr(float(b)), c) for b, c in zip(self._bounds.tolist(), cumulative, strict=False)
        ]
        buckets.append(("+Inf", cumulative[-1]))
        family = HistogramMetricFamily(self._name, self._doc, labels=["model"])
        family.add_metric([self._model], buckets, total)
        yield family

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self._name, self._doc, labels=["model"])
