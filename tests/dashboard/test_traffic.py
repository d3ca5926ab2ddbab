"""The traffic time series from the server's real Prometheus metrics: rates, error rates,
percentiles and batch sizes per version, counter resets, the hour-long ring, and the charts."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.dashboard.charts import line_chart
from modelport.dashboard.traffic import TrafficHistory, parse_metrics
from modelport.monitoring.metrics import Metrics


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def record(metrics: Metrics, version: str, n: int, *, seconds: float, errors: int = 0,
           batch: int = 4) -> None:
    """``n`` answered requests of ``fraud`` at ``version``, ``errors`` more failed."""
    for _ in range(n):
        metrics.requests.labels("fraud", "fraud", version, "rest", "ok").inc()
        metrics.duration.labels("fraud", "fraud", version, "rest").observe(seconds)
    for _ in range(errors):
        metrics.requests.labels("fraud", "fraud", version, "rest", "prediction_failed").inc()
        metrics.duration.labels("fraud", "fraud", version, "rest").observe(seconds)
    for _ in range(n // batch):
        metrics.batch_rows.labels("fraud", version).observe(batch)


def test_points_are_rates_and_percentiles_between_samples() -> None:
    metrics, clock = Metrics(), Clock()
    history = TrafficHistory(metrics.render, interval_s=5.0, clock=clock)
    history.sample()
    record(metrics, "1", 100, seconds=0.004, errors=0)
    record(metrics, "2", 40, seconds=0.2, errors=10, batch=8)
    clock.now += 5
    history.sample()
    series = history.series(300)
    one, two = series[("fraud", "1")][-1], series[("fraud", "2")][-1]
    assert one.rps == pytest.approx(20.0)
    assert one.error_rate == 0.0
    assert one.p50_ms is not None and 2.5 <= one.p50_ms <= 5.0  # inside the 2.5-5 ms bucket
    assert one.batch_rows == pytest.approx(4.0)
    assert two.rps == pytest.approx(10.0)
    assert two.error_rate == pytest.approx(0.2)
    assert two.p99_ms is not None and 100 <= two.p99_ms <= 250
    assert two.batch_rows == pytest.approx(8.0)


def test_a_quiet_interval_has_no_latency_and_a_reset_counts_from_zero() -> None:
    metrics, clock = Metrics(), Clock()
    texts: list[bytes] = []
    history = TrafficHistory(lambda: texts.pop(0), interval_s=5.0, clock=clock)
    record(metrics, "1", 50, seconds=0.01)
    texts.append(metrics.render())
    history.sample()
    clock.now += 5
    texts.append(metrics.render())  # nothing new
    history.sample()
    fresh = Metrics()  # a worker restarted: its counters start again
    record(fresh, "1", 10, seconds=0.01)
    clock.now += 5
    texts.append(fresh.render())
    history.sample()
    quiet, after_reset = history.series(300)[("fraud", "1")]
    assert quiet.rps == 0.0 and quiet.p99_ms is None and quiet.error_rate is None
    assert after_reset.rps == pytest.approx(2.0)


def test_the_ring_keeps_an_hour_and_the_window_picks_its_part() -> None:
    metrics, clock = Metrics(), Clock()
    history = TrafficHistory(metrics.render, interval_s=60.0, keep_s=3600.0, clock=clock)
    for _ in range(90):
        record(metrics, "1", 6, seconds=0.01)
        history.sample()
        clock.now += 60
    assert len(history.series(3600)[("fraud", "1")]) == 61
    assert len(history.series(300)[("fraud", "1")]) == 6


def test_contract_violations_are_summed_per_field_and_rule() -> None:
    metrics = Metrics()
    metrics.violations.labels("fraud", "amount", "max", "flag").inc(3)
    metrics.violations.labels("fraud", "amount", "max", "reject").inc(2)
    snap = parse_metrics(metrics.render().decode(), 0.0)
    assert snap.violations == {("fraud", "amount", "max"): 5.0}


def test_line_chart_scales_points_into_the_box_and_skips_gaps() -> None:
    chart = line_chart("p99 latency", " ms", [("version 1", [(0, 10.0), (5, None), (10, 20.0)]),
                                              ("version 2", [(0, None)])], start=0, end=10)
    assert len(chart.lines) == 1
    line = chart.lines[0]
    assert len(line.points.split()) == 2 and line.last == "20 ms"
    xs = [float(p.split(",")[0]) for p in line.points.split()]
    assert xs[0] == chart.left and xs[-1] == chart.right
    assert chart.top == "22 ms"


async def test_the_traffic_page_draws_both_windows(tmp_path: Path) -> None:
    import httpx

    from modelport.config import RegistrySettings
    from modelport.dashboard.app import Console, mount
    from modelport.dashboard.web import ConsoleContext
    from modelport.registry import Registry

    metrics, clock = Metrics(), Clock()
    history = TrafficHistory(metrics.render, interval_s=5.0, clock=clock)
    for _ in range(4):
        record(metrics, "3", 25, seconds=0.01)
        history.sample()
        clock.now += 5
    with Registry.open(RegistrySettings(home=tmp_path)) as registry:
        app = mount(None, Console(ConsoleContext(registry=registry, authn=None,
                                                 traffic=history)))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            for window in ("live", "hour"):
                page = await client.get(f"/ui/traffic?window={window}")
                assert page.status_code == 200
                assert page.text.count('<polyline class="line s0"') == 5  # one per metric
                assert "version 3: 5" in page.text  # 25 requests in 5 s
