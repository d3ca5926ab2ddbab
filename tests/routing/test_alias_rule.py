"""One rule for rollouts and aliases: promote moves the stable alias to the candidate, a
rollback leaves it as it was before the rollout, and a restarted server, with or without
routing, answers with the same version the deployment shows."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from modelport.protocol.types import InferenceResponse
from modelport.registry import Registry
from modelport.routing.records import Status
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.pipeline import CallContext
from modelport.serving.registry_source import RegistrySource

from .models import deploy_yaml
from .rig import Rig, Worker, fraud_request


@pytest.fixture
async def rig(sqlite_fraud: Registry) -> AsyncIterator[Rig]:
    sqlite_fraud.set_alias("fraud", "production", 1, actor="alice")
    made = Rig(sqlite_fraud)
    yield made
    await made.stop()


async def restarted(rig: Rig) -> set[str]:
    """Versions answering ``fraud`` in a freshly started worker with routing, and in a server
    started on ``fraud@production`` without routing."""
    worker = Worker(rig.registry, rig.clock, "restarted")
    plain = DataPlane(ModelManager(RegistrySource(rig.registry),
                                   ManagerConfig(refs=("fraud@production",), poll_interval_s=0)))
    try:
        await worker.sync.refresh()
        routed = set(await worker.traffic(20))
        answer: InferenceResponse = await plain.infer("fraud", None, fraud_request(0),
                                                      CallContext(name="fraud"))
        return routed | {answer.model_version or "?"}
    finally:
        await worker.stop()
        await plain.stop()


def production(rig: Rig) -> int:
    return rig.registry.resolve("fraud@production").version


async def test_promote_moves_the_stable_alias_and_a_restart_agrees(rig: Rig) -> None:
    rig.service.apply(deploy_yaml(stable="fraud@production", candidate="fraud:2"), actor="a")
    await rig.interval()
    promoted = rig.service.promote("fraud", actor="bob")
    assert promoted.status is Status.PROMOTED and production(rig) == 2
    assert promoted.describe_step() == "finished: promoted, fraud:2 takes all traffic"
    detail = rig.service.status("fraud").events[-1].detail
    assert "fraud@production now points at version 2" in detail
    assert rig.registry.alias_history("fraud", "production")[-1].actor.startswith("deployment ")
    assert await restarted(rig) == {"2"}


async def test_rollback_leaves_the_alias_untouched_and_a_restart_agrees(rig: Rig) -> None:
    rig.service.apply(deploy_yaml(stable="fraud:1", candidate="fraud:2"), actor="a")
    await rig.interval()
    rolled = rig.service.rollback("fraud", actor="bob", reason="drill")
    assert rolled.status is Status.ROLLED_BACK and production(rig) == 1
    assert rolled.describe_step() == "finished: rolled back, fraud:1 takes all traffic"
    assert await restarted(rig) == {"1"}


async def test_rollback_after_promote_moves_the_alias_back(rig: Rig) -> None:
    rig.service.apply(deploy_yaml(stable="fraud:1", candidate="fraud:2"), actor="a")
    rig.service.promote("fraud", actor="bob")
    assert production(rig) == 2
    assert await restarted(rig) == {"2"}
    rig.service.rollback("fraud", actor="bob", reason="pager")
    assert production(rig) == 1
    assert await restarted(rig) == {"1"}


async def test_the_controller_promoting_after_the_last_step_moves_the_alias(rig: Rig) -> None:
    rig.service.apply(deploy_yaml(stable="fraud@production", candidate="fraud:2"), actor="a")
    for _ in range(6):
        await rig.interval(n=60, seconds=1.5)
        if rig.service.get("fraud").status is Status.PROMOTED:
            break
    assert rig.service.get("fraud").status is Status.PROMOTED and production(rig) == 2
    assert await restarted(rig) == {"2"}


async def test_an_alias_moved_by_hand_during_the_rollout_is_left_alone(rig: Rig) -> None:
    rig.service.apply(deploy_yaml(stable="fraud:1", candidate="fraud:2",
                                  extra="alias: production\n"), actor="a")
    rig.registry.set_alias("fraud", "production", 5, actor="carol")
    rig.service.promote("fraud", actor="bob")
    assert production(rig) == 5
    assert "left at version 5" in rig.service.status("fraud").events[-1].detail
