"""Buffered series flush to exactly what direct updates would give; workers aggregate."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from modelport.monitoring.buffered import BufferedCounter, BufferedHistogram
from modelport.monitoring.metrics import (
    LATENCY_BUCKETS,
    MULTIPROC_ENV,
    Metrics,
    enable_multiprocess,
    mark_worker_dead,
    restore_multiprocess,
)


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            if s.name.endswith("_created"):
                continue
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_buffered_histogram_matches_direct_observations() -> None:
    direct_reg, buffered_reg = CollectorRegistry(), CollectorRegistry()
    direct = Histogram("h", "h", buckets=LATENCY_BUCKETS, registry=direct_reg)
    buffered = BufferedHistogram(
        Histogram("h", "h", buckets=LATENCY_BUCKETS, registry=buffered_reg), LATENCY_BUCKETS)
    values = [0.0001, 0.001, 0.0011, 0.3, 0.3, 7.0, 100.0, 0.0005]
    for v in values:
        direct.observe(v)
    buffered.observe_many(values[:3])
    for v in values[3:]:
        buffered.observe(v)
    before = samples(generate_latest(buffered_reg))
    assert before[("h_count", ())] == 0  # nothing reaches Prometheus before the flush
    buffered.flush()
    buffered.flush()  # a second flush adds nothing
    assert samples(generate_latest(buffered_reg)) == samples(generate_latest(direct_reg))


def test_buffered_counter_adds_on_flush() -> None:
    reg = CollectorRegistry()
    counter = BufferedCounter(Counter("c", "c", registry=reg))
    counter.add()
    counter.add(2.5)
    assert samples(generate_latest(reg))[("c_total", ())] == 0
    counter.flush()
    assert samples(generate_latest(reg))[("c_total", ())] == 3.5


def test_series_are_bound_once_and_render_after_flush() -> None:
    metrics = Metrics()
    series = metrics.request_series("fraud", "fraud", "3", "rest")
    assert metrics.request_series("fraud", "fraud", "3", "rest") is series
    series.ok.add()
    series.duration.observe(0.002)
    metrics.request_failed("fraud", "fraud", "", "grpc", "invalid_input", 0.001)
    metrics.in_flight_gauge("fraud").value = 2
    text = samples(metrics.render())
    ok = (("endpoint", "fraud"), ("model", "fraud"), ("protocol", "rest"), ("status", "ok"),
          ("version", "3"))
    assert text[("modelport_requests_total", ok)] == 1
    bad = (("endpoint", "fraud"), ("model", "fraud"), ("protocol", "grpc"),
           ("status", "invalid_input"), ("version", ""))
    assert text[("modelport_requests_total", bad)] == 1
    assert text[("modelport_in_flight_requests", (("endpoint", "fraud"),))] == 2


def _worker(requests: int) -> None:
    metrics = Metrics()
    series = metrics.request_series("fraud", "fraud", "1", "rest")
    for _ in range(requests):
        series.ok.add()
        series.duration.observe(0.01)
    metrics.in_flight_gauge("fraud").value = 1
    metrics.flush()


def test_values_of_several_processes_are_summed(tmp_path: Path) -> None:
    """Two forked processes write their own files; any process renders the sum."""
    previous = enable_multiprocess(str(tmp_path))
    try:
        context = multiprocessing.get_context("fork")
        procs = [context.Process(target=_worker, args=(n,)) for n in (3, 4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
            assert p.exitcode == 0
        assert len(list(tmp_path.glob("counter_*.db"))) == 2
        text = samples(Metrics().render())
        ok = (("endpoint", "fraud"), ("model", "fraud"), ("protocol", "rest"),
              ("status", "ok"), ("version", "1"))
        assert text[("modelport_requests_total", ok)] == 7
        assert text[("modelport_request_duration_seconds_count",
                     (("endpoint", "fraud"), ("model", "fraud"), ("protocol", "rest"),
                      ("version", "1")))] == 7
        workers = [k for k in text if k[0] == "modelport_worker_start_time_seconds"]
        assert len(workers) == 3  # two workers and the rendering process, one series each
        for p in procs:
            assert p.pid is not None
            mark_worker_dead(p.pid)
        text = samples(Metrics().render())
        assert text.get(("modelport_in_flight_requests", (("endpoint", "fraud"),)), 0) == 0
        assert text[("modelport_requests_total", ok)] == 7  # counters outlive their workers
    finally:
        restore_multiprocess(previous)
    assert MULTIPROC_ENV not in os.environ or previous is not None
