"""Workers following the database: new routes apply only once their versions are loaded,
blue-green switches wait for every worker and flip at one moment, rollbacks are instant."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from modelport.registry import Registry, db
from modelport.routing import stats_store
from modelport.routing.records import Status

from .models import deploy_yaml
from .rig import Rig, Worker


@pytest.fixture
async def rig(sqlite_fraud: Registry) -> AsyncIterator[Rig]:
    made = Rig(sqlite_fraud)
    yield made
    await made.stop()


async def test_a_new_route_waits_for_its_versions_to_load(rig: Rig) -> None:
    assert not await rig.worker.sync.refresh() or rig.worker.router.table.routes == {}
    rig.service.apply(deploy_yaml(strategy="ab", section=None), actor="alice")
    assert await rig.worker.sync.refresh()
    for version in ("1", "2"):  # both loaded before the table went in
        assert rig.worker.models.lookup("fraud", version) is not None
    route = rig.worker.router.table.get("fraud")
    assert route is not None and [a.weight for a in route.arms] == [50, 50]
    assert not await rig.worker.sync.refresh()  # nothing changed: one revision read


async def test_heartbeat_reports_revision_and_loaded_versions(rig: Rig) -> None:
    record = rig.service.apply(deploy_yaml(extra="shadow: [fraud:5]\n"), actor="alice")
    await rig.worker.sync.refresh()
    await rig.worker.sync.flush()
    workers = rig.service.status("fraud").workers
    assert [w.worker for w in workers] == ["w1"]
    assert workers[0].revision >= record.revision
    assert workers[0].loaded == ["fraud:1", "fraud:2", "fraud:5"]


async def test_two_workers_converge_on_the_same_routes(rig: Rig,
                                                       sqlite_fraud: Registry) -> None:
    second = Worker(sqlite_fraud, rig.clock, "w2")
    try:
        rig.service.apply(deploy_yaml(strategy="blue-green", section=None), actor="alice")
        for worker in (rig.worker, second):
            await worker.sync.refresh()
            await worker.sync.flush()
        rig.controller.tick()
        record = rig.service.get("fraud")
        assert record.status is Status.PROMOTED  # both workers had the green slot ready
        for worker in (rig.worker, second):
            await worker.sync.refresh()
            assert await worker.traffic(20) == {"2": 20}
    finally:
        await second.stop()


async def test_blue_green_waits_for_every_live_worker(rig: Rig) -> None:
    record = rig.service.apply(deploy_yaml(strategy="blue-green", section=None),
                               actor="alice")
    with db.transaction(rig.registry.engine, write=True) as conn:  # a worker still loading
        stats_store.heartbeat(conn, worker="slowpoke", revision=record.revision, loaded=[],
                              failed={}, now=rig.clock())
    seen = await rig.interval()
    assert seen == {"1": 100}  # blue serves; green is loaded but gets nothing
    assert rig.worker.models.lookup("fraud", "2") is not None
    assert rig.service.get("fraud").status is Status.RUNNING
    with db.transaction(rig.registry.engine, write=True) as conn:
        stats_store.heartbeat(conn, worker="slowpoke", revision=record.revision,
                              loaded=["fraud:1", "fraud:2"], failed={}, now=rig.clock())
    rig.controller.tick()
    switched = rig.service.get("fraud")
    assert switched.status is Status.PROMOTED
    assert switched.effective_at > rig.clock.now  # scheduled a moment ahead, for everyone
    started = time.monotonic()
    assert await rig.worker.sync.refresh()
    assert time.monotonic() - started >= 0.15  # the swap waited for the switch time
    assert await rig.worker.traffic(50) == {"2": 50}
    rig.service.rollback("fraud", actor="bob", reason="checkout errors")
    await rig.worker.sync.refresh()
    assert await rig.worker.traffic(50) == {"1": 50}  # blue was kept warm: instant


async def test_manual_blue_green_switches_on_promote(rig: Rig) -> None:
    rig.service.apply(deploy_yaml(strategy="blue-green",
                                  section="blue_green:\n  switch: manual\n"), actor="alice")
    await rig.interval()
    assert rig.service.get("fraud").status is Status.RUNNING
    promoted = rig.service.promote("fraud", actor="bob")
    assert promoted.status is Status.PROMOTED
    assert [e.action for e in rig.service.status("fraud").events] == ["apply", "promote",
                                                                     "switch"]


async def test_shadow_comparison_reaches_the_status(rig: Rig) -> None:
    rig.service.apply(deploy_yaml(strategy="ab", section=None,
                                  extra="shadow: [fraud:5, fraud:3]\nshadow_share: 100\n"),
                      actor="alice")
    await rig.interval(n=50)
    shadows = {k: v.to_dict() for k, v in rig.service.status("fraud").shadows.items()}
    assert shadows["fraud:3"]["mirrored"] == 50 and shadows["fraud:3"]["failed"] == 50
    shifted = shadows["fraud:5"]
    assert shifted["compared"] == 50
    assert shifted["agreement"] is not None and shifted["agreement"] < 0.9
    assert shifted["mean_abs_diff"] > 0 and shifted["shadow_latency_ms"] > 0
