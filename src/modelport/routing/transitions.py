"""The rollout state machine: every change of a deployment, as one short write transaction.

People (``deploy promote``...) and the controller (a step passed its gates, one failed) move
deployments through the same functions, so each change is checked the same way, recorded in
the history with its actor, and written to the audit log.

    running --advance--> running (next step) --advance at 100%--> promoted
    running/paused --promote--> promoted          (blue-green: switch once the slot is ready)
    running/paused/promoted --rollback--> rolled_back
    running --pause--> paused --resume--> running

One rule joins rollouts and aliases: promotion (by a person, by the controller after the last
step, or a blue-green switch) moves the stable alias (``spec.stable_alias``, e.g. production)
to the candidate in the same transaction, so the alias, the routes and a restarted server
agree. A rollback leaves the alias as it was before the rollout: untouched while the rollout
runs, moved back to the stable version when it had been promoted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from modelport.errors import Conflict, ModelportError, NotFound
from modelport.registry import db, reads, writes
from modelport.registry.tables import utcnow
from modelport.routing import store
from modelport.routing.plan import DeploymentPlan, canary_weights, initial_weights, only
from modelport.routing.records import DeploymentRecord, Status, Target
from modelport.security.audit import append_audit

__all__ = [
    "CONTROLLER",
    "advance",
    "apply",
    "change",
    "move_stable_alias",
    "pause",
    "promote",
    "resume",
    "rollback",
    "switch",
]

log = logging.getLogger(__name__)

CONTROLLER = "controller"
"""The actor recorded for changes the rollout controller makes."""

Work = Callable[[Connection, DeploymentRecord, datetime], tuple[str, str, dict[str, Any]]]


def apply(engine: Engine, plan: DeploymentPlan, *, actor: str,
          now: datetime | None = None) -> DeploymentRecord:
    """Start a rollout; Conflict when the endpoint already has one in progress."""
    endpoint = plan.spec.endpoint

    def work(conn: Connection) -> DeploymentRecord:
        when = now or utcnow()
        store.touch_revision(conn)  # lock first: a concurrent apply waits, then sees ours
        existing = store.current(conn, endpoint)
        if existing is not None and existing.active:
            raise Conflict(
                f"endpoint {endpoint!r} already has a rollout in progress (deployment "
                f"{existing.id}: {existing.strategy} {existing.stable} -> {existing.candidate}, "
                f"{existing.status.value}, started by {existing.created_by}); finish it with "
                f"'modelport deploy promote {endpoint}' or 'modelport deploy rollback "
                f"{endpoint}' first",
                details={"deployment": existing.id},
            )
        weights = initial_weights(plan)
        new_id = store.insert(conn, plan, weights, actor=actor, now=when)
        shadow = f", shadow {', '.join(map(str, plan.shadows))}" if plan.shadows else ""
        store.add_event(conn, new_id, actor=actor, action="apply", now=when,
                        detail=f"{plan.spec.strategy}: stable {plan.stable}, candidate "
                               f"{plan.candidate}{shadow}; {_split(weights)}",
                        data={"weights": [a.to_dict() for a in weights]})
        record = store.by_id(conn, new_id)
        assert record is not None
        return record

    record = db.run_write(engine, work)
    _audit(engine, "deploy.apply", actor, record)
    return record


def change(engine: Engine, endpoint: str, work: Work, *, actor: str, audit: str | None,
           now: datetime | None = None, deployment_id: int | None = None) -> DeploymentRecord:
    """Run one transition on the endpoint's current deployment and record it."""

    def run(conn: Connection) -> DeploymentRecord:
        when = now or utcnow()
        store.touch_revision(conn)
        record = store.current(conn, endpoint)
        if record is None:
            raise NotFound(f"endpoint {endpoint!r} has no deployment; apply one with "
                           "'modelport deploy apply -f FILE'")
        if deployment_id is not None and record.id != deployment_id:
            raise Conflict(f"deployment {deployment_id} of {endpoint!r} was superseded by "
                           f"deployment {record.id}")
        action, detail, data = work(conn, record, when)
        store.add_event(conn, record.id, actor=actor, action=action, detail=detail,
                        now=when, data=data)
        updated = store.by_id(conn, record.id)
        assert updated is not None
        return updated

    record = db.run_write(engine, run)
    if audit is not None:
        _audit(engine, audit, actor, record)
    return record


def promote(conn: Connection, record: DeploymentRecord, now: datetime
            ) -> tuple[str, str, dict[str, Any]]:
    """All traffic to the candidate (blue-green: ask the controller to switch when ready)."""
    _require_active(record, "promote")
    if record.strategy == "blue-green":
        store.touch(conn, record.id, now=now, switch_requested=True)
        return ("promote", f"switch to {record.candidate} requested; it happens once every "
                           "worker has it loaded", {})
    weights = only(record.candidate, "candidate")
    store.touch(conn, record.id, now=now, status=Status.PROMOTED, weights=weights,
                effective_at=now, reason=None)
    moved = move_stable_alias(conn, record, record.stable, record.candidate, now)
    return "promote", f"{record.candidate} takes all traffic{moved}", {}


def switch(conn: Connection, record: DeploymentRecord, now: datetime, *, lead_s: float
           ) -> tuple[str, str, dict[str, Any]]:
    """Blue-green: every worker moves all traffic to the new slot at one moment."""
    _require_active(record, "switch")
    at = now + timedelta(seconds=lead_s)
    store.touch(conn, record.id, now=now, status=Status.PROMOTED, effective_at=at,
                weights=only(record.candidate, "candidate"), reason=None)
    moved = move_stable_alias(conn, record, record.stable, record.candidate, now)
    return ("switch", f"all traffic switches from {record.stable} to {record.candidate} at "
                      f"{at.isoformat(timespec='milliseconds')}{moved}",
            {"effective_at": at.isoformat()})


def rollback_work(reason: str) -> Work:
    def work(conn: Connection, record: DeploymentRecord, now: datetime
             ) -> tuple[str, str, dict[str, Any]]:
        if record.status is Status.ROLLED_BACK:
            raise Conflict(f"deployment {record.id} of {record.endpoint!r} is already rolled "
                           f"back; {record.stable} takes all traffic")
        store.touch(conn, record.id, now=now, status=Status.ROLLED_BACK, effective_at=now,
                    weights=only(record.stable, "stable"), reason=reason)
        moved = ""
        if record.status is Status.PROMOTED:  # promotion moved the alias: move it back
            moved = move_stable_alias(conn, record, record.candidate, record.stable, now)
        return "rollback", f"{record.stable} takes all traffic: {reason}{moved}", {}
    return work


def rollback(engine: Engine, endpoint: str, *, actor: str, reason: str = "",
             now: datetime | None = None) -> DeploymentRecord:
    """All traffic back to the stable version at once."""
    why = reason or f"rolled back by {actor}"
    return change(engine, endpoint, rollback_work(why), actor=actor, audit="deploy.rollback",
                  now=now)


def pause(conn: Connection, record: DeploymentRecord, now: datetime
          ) -> tuple[str, str, dict[str, Any]]:
    if record.status is not Status.RUNNING:
        raise Conflict(f"deployment {record.id} of {record.endpoint!r} is "
                       f"{record.status.value}, not running; only a running rollout pauses")
    store.touch(conn, record.id, now=now, status=Status.PAUSED)
    return "pause", f"held at {record.describe_step()}; weights stay {_split(record.weights)}", {}


def resume(conn: Connection, record: DeploymentRecord, now: datetime
           ) -> tuple[str, str, dict[str, Any]]:
    if record.status is not Status.PAUSED:
        raise Conflict(f"deployment {record.id} of {record.endpoint!r} is "
                       f"{record.status.value}, not paused; nothing to resume")
    store.touch(conn, record.id, now=now, status=Status.RUNNING, step_started_at=now,
                reason=None)
    return "resume", f"resumed at {record.describe_step()}; the interval starts again", {}


def advance(conn: Connection, record: DeploymentRecord, now: datetime
            ) -> tuple[str, str, dict[str, Any]]:
    """Canary: the next step, or promotion when the next step is 100%."""
    _require_active(record, "advance")
    assert record.spec.canary is not None
    steps = record.spec.canary.steps
    nxt = record.step + 1
    if nxt >= len(steps) or steps[nxt] >= 100:
        store.touch(conn, record.id, now=now, status=Status.PROMOTED, step=len(steps) - 1,
                    weights=only(record.candidate, "candidate"), effective_at=now,
                    step_started_at=now)
        moved = move_stable_alias(conn, record, record.stable, record.candidate, now)
        return "promote", f"every gate held at each step; {record.candidate} takes all " \
                          f"traffic{moved}", {}
    weights = canary_weights(record.stable, record.candidate, steps[nxt])
    store.touch(conn, record.id, now=now, step=nxt, weights=weights, step_started_at=now,
                effective_at=now)
    return ("advance", f"gates held at {steps[record.step]}%; step {nxt + 1} of "
                       f"{len(steps)}: {_split(weights)}", {})


def move_stable_alias(conn: Connection, record: DeploymentRecord, source: Target,
                      target: Target, now: datetime) -> str:
    """Point the stable alias at ``target`` when it points at ``source`` (or nowhere yet).

    Returns the history's note of what happened: an alias someone moved elsewhere during the
    rollout is left alone, and the note says so.
    """
    alias = record.spec.stable_alias
    if source.model != target.model:
        return f"; alias {alias} not moved: {source} and {target} are different models"
    model = reads.require_model(conn, target.model, lock=True)
    current = reads.alias_map(conn, model.id).get(alias)
    if current is not None and current != source.version:
        return (f"; {target.model}@{alias} left at version {current} (it was moved away from "
                f"{source.version} during the rollout)")
    writes.move_alias(conn, model, alias, target.version, f"deployment {record.id}", now)
    return f"; {target.model}@{alias} now points at version {target.version}"


def _require_active(record: DeploymentRecord, verb: str) -> None:
    if not record.active:
        raise Conflict(f"deployment {record.id} of {record.endpoint!r} is "
                       f"{record.status.value}; there is no rollout in progress to {verb}. "
                       "Apply a new deployment file to start one")


def _split(weights: Any) -> str:
    return ", ".join(f"{a.model}:{a.version} {a.weight:g}%" for a in weights)


def _audit(engine: Engine, action: str, actor: str, record: DeploymentRecord) -> None:
    """Append to the security audit log; a failure there is logged, never undoes the change."""
    try:
        append_audit(engine, action=action, actor=actor, target=record.endpoint,
                     details={"deployment": record.id, "status": record.status.value,
                              "stable": str(record.stable), "candidate": str(record.candidate),
                              "weights": _split(record.weights)})
    except ModelportError as exc:
        log.error("could not append %s of %s to the audit log: %s", action, record.endpoint,
                  exc.message)
