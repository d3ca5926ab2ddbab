"""The rollout state machine on SQLite and PostgreSQL: every change recorded with its actor,
two rollouts on one endpoint refused, terminal states final."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from modelport.errors import Conflict, NotFound
from modelport.registry import Registry, db
from modelport.routing import store
from modelport.routing.records import Status
from modelport.routing.service import DeploymentService
from modelport.security.audit import list_audit

from .models import deploy_yaml


def test_apply_records_the_deployment_and_who(fraud: Registry) -> None:
    service = DeploymentService(fraud)
    record = service.apply(deploy_yaml(), actor="alice")
    assert record.status is Status.RUNNING
    assert [(str(a.target), a.weight) for a in record.weights] == [("fraud:1", 80.0),
                                                                  ("fraud:2", 20.0)]
    assert record.created_by == "alice"
    status = service.status("fraud")
    assert [(e.actor, e.action) for e in status.events] == [("alice", "apply")]
    assert "fraud:1 80%, fraud:2 20%" in status.events[0].detail
    audit = list_audit(fraud.engine, action="deploy.apply")
    assert [(a.actor, a.target) for a in audit] == [("alice", "fraud")]


def test_a_second_rollout_on_the_endpoint_is_refused(fraud: Registry) -> None:
    service = DeploymentService(fraud)
    first = service.apply(deploy_yaml(), actor="alice")
    with pytest.raises(Conflict, match="already has a rollout in progress .*deployment "
                                       f"{first.id}.*started by alice"):
        service.apply(deploy_yaml(candidate="fraud:3"), actor="bob")
    service.pause("fraud", actor="alice")
    with pytest.raises(Conflict):
        service.apply(deploy_yaml(candidate="fraud:3"), actor="bob")
    service.rollback("fraud", actor="alice")
    second = service.apply(deploy_yaml(candidate="fraud:3"), actor="bob")
    assert second.id != first.id and service.get("fraud").id == second.id
    other = service.apply(deploy_yaml(endpoint="checkout"), actor="bob")  # another endpoint
    assert [r.endpoint for r in service.list()] == ["checkout", "fraud"]
    assert other.status is Status.RUNNING


def test_concurrent_applies_let_exactly_one_through(fraud: Registry) -> None:
    service = DeploymentService(fraud)

    def attempt(i: int) -> str:
        try:
            service.apply(deploy_yaml(), actor=f"user{i}")
            return "ok"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, range(4)))
    assert sorted(results) == ["conflict"] * 3 + ["ok"]


def test_pause_resume_promote_rollback_history(fraud: Registry) -> None:
    service = DeploymentService(fraud)
    service.apply(deploy_yaml(), actor="alice")
    assert service.pause("fraud", actor="bob").status is Status.PAUSED
    with pytest.raises(Conflict, match="not running; only a running rollout pauses"):
        service.pause("fraud", actor="bob")
    assert service.resume("fraud", actor="bob").status is Status.RUNNING
    with pytest.raises(Conflict, match="not paused; nothing to resume"):
        service.resume("fraud", actor="bob")
    promoted = service.promote("fraud", actor="carol")
    assert promoted.status is Status.PROMOTED
    assert [(str(a.target), a.weight) for a in promoted.weights] == [("fraud:2", 100.0)]
    with pytest.raises(Conflict, match="there is no rollout in progress to promote"):
        service.promote("fraud", actor="carol")
    rolled = service.rollback("fraud", actor="dave", reason="pager went off")
    assert rolled.status is Status.ROLLED_BACK and rolled.reason == "pager went off"
    assert [(str(a.target), a.weight) for a in rolled.weights] == [("fraud:1", 100.0)]
    with pytest.raises(Conflict, match="already rolled back"):
        service.rollback("fraud", actor="dave")
    events = service.status("fraud").events
    assert [(e.actor, e.action) for e in events] == [
        ("alice", "apply"), ("bob", "pause"), ("bob", "resume"), ("carol", "promote"),
        ("dave", "rollback")]
    actions = [a.action for a in list_audit(fraud.engine)]
    assert actions.count("deploy.promote") == 1 and actions.count("deploy.rollback") == 1


def test_every_change_moves_the_revision(fraud: Registry) -> None:
    service = DeploymentService(fraud)

    def revision() -> int:
        with db.transaction(fraud.engine) as conn:
            return store.read_revision(conn)

    before = revision()
    service.apply(deploy_yaml(), actor="a")
    after_apply = revision()
    service.pause("fraud", actor="a")
    assert before < after_apply < revision()
    assert service.get("fraud").revision == revision()


def test_unknown_endpoint_is_not_found(fraud: Registry) -> None:
    service = DeploymentService(fraud)
    with pytest.raises(NotFound, match="endpoint 'nope' has no deployment; apply one"):
        service.status("nope")
    with pytest.raises(NotFound):
        service.rollback("nope", actor="a")
