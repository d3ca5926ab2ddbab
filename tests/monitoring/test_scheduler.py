"""One scheduled round on the leader: drift and degraded performance become gauges, events
and webhook calls (drift alert, retraining request) received by a real HTTP server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from modelport.monitoring.config import (
    AlertConfig,
    DriftConfig,
    LogConfig,
    MonitoringConfig,
    PerformanceConfig,
)
from modelport.monitoring.events import list_events
from modelport.monitoring.feedback import FeedbackItem, FeedbackStore
from modelport.monitoring.metrics import Metrics
from modelport.monitoring.scheduler import Scheduler
from modelport.registry import Registry

from .models import register_fraud
from .receiver import receiver
from .test_drift_check import log_traffic


def gauge(metrics: Metrics, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


async def test_a_round_alerts_on_drift_and_requests_retraining(
    local_registry: Registry, tmp_path: Path
) -> None:
    registry = local_registry
    info = register_fraud(registry, tmp_path / "m", metrics={"accuracy": 0.99})
    root = tmp_path / "log"
    now = datetime.now(UTC)
    log_traffic(registry, info, root, shift=1.5, rows=300, at=now)
    # Wrong labels for half the requests: accuracy falls far below the registered 0.99.
    items = [FeedbackItem(f"r{i}", (i % 2)) for i in range(60)]
    FeedbackStore(registry.engine, str(root)).submit("fraud", items, now=now)

    with receiver() as alerts, receiver() as retrain:
        config = MonitoringConfig(
            log=LogConfig(root=str(root)),
            drift=DriftConfig(window_s=3600.0),
            performance=PerformanceConfig(min_labels=50, window_s=86400.0),
            alerts=AlertConfig(webhooks=(alerts.url,), retrain_webhooks=(retrain.url,),
                               backoff_s=0.01),
        )
        metrics = Metrics()

        async def served() -> list[tuple[str, str]]:
            return [("fraud", "1")]

        scheduler = Scheduler(registry, config, served, metrics=metrics)
        await scheduler.tick()
        await scheduler.tick()  # nothing changed: no second alert

    kinds = sorted(e.kind for e in list_events(registry.engine, model="fraud"))
    assert kinds == ["degraded", "drift", "retrain"]
    assert [a["kind"] for a in alerts.received] == ["drift", "degraded"]
    assert "amount" in alerts.received[0]["summary"]
    assert retrain.received[0]["model"] == "fraud" and retrain.received[0]["version"] == "1"
    assert gauge(metrics, "modelport_drift_detected", model="fraud", version="1") == 1
    assert gauge(metrics, "modelport_performance_degraded", model="fraud") == 1
    p = gauge(metrics, "modelport_drift_p_value", feature="amount", test="ks")
    assert p is not None and p < 0.05
    accuracy = gauge(metrics, "modelport_performance", metric="accuracy")
    assert accuracy is not None and accuracy < 0.9
    assert gauge(metrics, "modelport_performance_baseline", metric="accuracy") == 0.99

