"""Prometheus metrics of one scorer, on a registry of its own, served on its own port.

A scorer is its own process, so it keeps its own ``CollectorRegistry`` rather than the
server-wide one; ``serve`` exposes it at ``http://HOST:PORT/metrics``.
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import start_http_server

__all__ = ["StreamMetrics"]

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
        self.latency = Histogram(
            "modelport_stream_end_to_end_latency_seconds",
            "From the event entering the source stream to its output being written.",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        ).labels(model)
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
