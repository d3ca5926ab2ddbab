"""Events are kept newest first; one lease holder at a time, taken over after expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modelport.monitoring.events import last_event, list_events, record_event
from modelport.monitoring.lease import acquire_lease, release_lease
from modelport.registry import Registry

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_events_round_trip(registry: Registry) -> None:
    engine = registry.engine
    record_event(engine, model="fraud", version="1", kind="drift", summary="amount drifted",
                 details={"features": ["amount"]}, at=T0)
    record_event(engine, model="fraud", version="1", kind="drift_cleared", summary="ok",
                 at=T0 + timedelta(hours=1))
    record_event(engine, model="other", version=None, kind="drift", summary="x", at=T0)
    found = list_events(engine, model="fraud")
    assert [e.kind for e in found] == ["drift_cleared", "drift"]
    assert found[1].details == {"features": ["amount"]} and found[1].at == T0
    assert len(list_events(engine, kinds=("drift",))) == 2
    last = last_event(engine, "fraud", "1", ("drift", "drift_cleared"))
    assert last is not None and last.kind == "drift_cleared"
    assert last_event(engine, "fraud", "2", ("drift",)) is None


def test_one_holder_at_a_time(registry: Registry) -> None:
    engine = registry.engine
    assert acquire_lease(engine, "monitoring", "a", 60, now=T0)
    assert not acquire_lease(engine, "monitoring", "b", 60, now=T0 + timedelta(seconds=30))
    assert acquire_lease(engine, "monitoring", "a", 60, now=T0 + timedelta(seconds=30))  # renew
    assert not acquire_lease(engine, "monitoring", "b", 60, now=T0 + timedelta(seconds=80))
    assert acquire_lease(engine, "monitoring", "b", 60, now=T0 + timedelta(seconds=91))  # expired
    release_lease(engine, "monitoring", "b")
    assert acquire_lease(engine, "monitoring", "c", 60, now=T0 + timedelta(seconds=92))
