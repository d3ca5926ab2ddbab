"""The rollout controller against a real registry and data plane: good candidates are promoted
step by step, bad ones (raising, slow, shifted, unloadable) are rolled back at once with the
reason recorded, and a restarted controller carries on where the last one stopped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from modelport.registry import Registry
from modelport.routing.controller import Controller
from modelport.routing.records import Status

from .models import deploy_yaml
from .rig import OPTIONS, Rig, Worker


@pytest.fixture
async def rig(sqlite_fraud: Registry) -> AsyncIterator[Rig]:
    made = Rig(sqlite_fraud)
    yield made
    await made.stop()


async def test_good_candidate_is_promoted_step_by_step(rig: Rig) -> None:
    rig.service.apply(deploy_yaml(candidate="fraud:2"), actor="alice")
    first = await rig.interval()
    assert set(first) == {"1", "2"} and 5 < first["2"] < 40  # 20% of 100
    assert rig.service.get("fraud").describe_step() == "step 2 of 3 (50%)", \
        rig.service.status("fraud").events
    second = await rig.interval()
    assert 25 < second["2"] < 75
    record = rig.service.get("fraud")
    assert record.status is Status.PROMOTED
    assert [(str(a.target), a.weight) for a in record.weights] == [("fraud:2", 100.0)]
    status = rig.service.status("fraud")
    assert [e.action for e in status.events] == ["apply", "advance", "promote"]
    assert [e.actor for e in status.events][1:] == ["controller", "controller"]
    assert [(g.step, g.verdict) for g in status.gates] == [(0, "pass"), (1, "pass")]
    final = await rig.interval()
    assert set(final) == {"2"}


@pytest.mark.parametrize(
    ("candidate", "gate"),
    [("fraud:3", "max_error_rate"), ("fraud:4", "max_p99_latency_ms"),
     ("fraud:5", "max_prediction_psi")],
    ids=["raises", "slow", "shifted"],
)
async def test_bad_candidate_is_rolled_back_and_stable_keeps_serving(
        rig: Rig, candidate: str, gate: str) -> None:
    rig.service.apply(deploy_yaml(candidate=candidate), actor="alice")
    seen = await rig.interval()
    assert seen["1"] > 50  # the stable answered its share throughout
    record = rig.service.get("fraud")
    assert record.status is Status.ROLLED_BACK
    assert record.reason is not None and f"gate failed at step 1 of 3 (20%): {gate}" \
        in record.reason
    assert [(str(a.target), a.weight) for a in record.weights] == [("fraud:1", 100.0)]
    history = rig.service.status("fraud").events
    assert (history[-1].actor, history[-1].action) == ("controller", "rollback")
    assert gate in history[-1].detail
    failed = [r for r in history[-1].data["readings"] if r["ok"] is False]
    assert [r["gate"] for r in failed] == [gate]
    after = await rig.interval()
    assert after == {"1": 100}, rig.worker.errors


async def test_too_little_traffic_waits_another_interval(rig: Rig) -> None:
    rig.service.apply(deploy_yaml(), actor="alice")
    await rig.interval(n=5)
    record = rig.service.get("fraud")
    assert record.status is Status.RUNNING and record.step == 0
    assert record.step_started_at == rig.clock.now
    assert rig.service.status("fraud").events[-1].action == "wait"


async def test_interval_not_over_does_nothing(rig: Rig) -> None:
    rig.service.apply(deploy_yaml(), actor="alice")
    await rig.interval(seconds=0.5)
    assert rig.service.get("fraud").step == 0
    assert rig.service.status("fraud").gates == []


async def test_on_failure_pause_holds_the_weights(rig: Rig) -> None:
    text = deploy_yaml(candidate="fraud:3").replace("  gates:", "  on_failure: pause\n  gates:")
    rig.service.apply(text, actor="alice")
    await rig.interval()
    record = rig.service.get("fraud")
    assert record.status is Status.PAUSED and "max_error_rate" in (record.reason or "")
    assert record.weight_of("candidate") == 20
    await rig.interval()  # paused: the controller leaves it alone
    assert rig.service.get("fraud").status is Status.PAUSED


async def test_paused_rollout_is_left_alone_and_resumes(rig: Rig) -> None:
    rig.service.apply(deploy_yaml(), actor="alice")
    rig.service.pause("fraud", actor="bob")
    await rig.interval()
    assert rig.service.get("fraud").step == 0
    rig.service.resume("fraud", actor="bob")
    await rig.interval()
    assert rig.service.get("fraud").step == 1


async def test_a_restarted_controller_resumes_the_rollout(rig: Rig, sqlite_fraud: Registry
                                                          ) -> None:
    rig.service.apply(deploy_yaml(), actor="alice")
    await rig.interval()
    assert rig.service.get("fraud").step == 1
    await rig.worker.stop()
    # a new worker process and a new controller: only the database remembers
    rig.worker = Worker(sqlite_fraud, rig.clock, "w2")
    rig.controller = Controller(sqlite_fraud.engine, holder="c2", options=OPTIONS,
                                clock=rig.clock)
    seen = await rig.interval()
    assert 25 < seen["2"] < 75  # the new worker came back at 50%, not at step 1
    record = rig.service.get("fraud")
    assert record.status is Status.PROMOTED
    assert [g.step for g in rig.service.status("fraud").gates] == [0, 1]


async def test_one_controller_leads_until_its_lease_lapses(rig: Rig,
                                                           sqlite_fraud: Registry) -> None:
    other = Controller(sqlite_fraud.engine, holder="c2", options=OPTIONS, clock=rig.clock)
    assert rig.controller.lead()
    assert not other.lead()
    rig.clock.advance(OPTIONS.lease_ttl_s - 1)
    assert rig.controller.lead()  # renewed
    rig.clock.advance(OPTIONS.lease_ttl_s + 1)
    assert other.lead() and not rig.controller.lead()
    other.resign()
    assert rig.controller.lead()


async def test_candidate_that_cannot_load_is_rolled_back(rig: Rig, sqlite_fraud: Registry,
                                                         tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("class Model:\n    def load(self, path):\n"
                      "        raise RuntimeError('weights missing')\n"
                      "    def predict(self, inputs):\n        return {}\n")
    from .models import SIGNATURE

    sqlite_fraud.register("fraud", broken, flavor="python", signature=SIGNATURE,
                          registered_by="test")
    rig.service.apply(deploy_yaml(candidate="fraud:6"), actor="alice")
    seen = await rig.interval(seconds=0.1)
    assert seen == {"1": 100}  # the worker kept the endpoint on the stable route
    record = rig.service.get("fraud")
    assert record.status is Status.ROLLED_BACK
    assert "fraud:6 could not be loaded on worker w1" in (record.reason or "")
    assert "weights missing" in (record.reason or "")


async def test_old_measurements_are_pruned(rig: Rig, sqlite_fraud: Registry) -> None:
    rig.service.apply(deploy_yaml(), actor="alice")
    await rig.interval(seconds=0.1)
    assert rig.service.status("fraud").live["stable"].requests > 0
    pruner = Controller(sqlite_fraud.engine, holder="c3", clock=rig.clock,
                        options=OPTIONS.__class__(stats_retention_s=1.0))
    rig.clock.advance(120)
    pruner.tick()
    assert rig.service.status("fraud").live == {}
