"""Deployment rows, their history and the routing revision: queries on one connection.

Every change to a deployment goes through :func:`touch`, which bumps the one revision
counter first. On PostgreSQL that update also locks the counter's row, so routing writes
queue one behind another (two ``apply`` calls cannot both see an idle endpoint); on SQLite the
write transaction's lock does the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from modelport.registry import tables_routing as t
from modelport.routing.plan import DeploymentPlan
from modelport.routing.records import (
    Arm,
    DeploymentRecord,
    Event,
    GateRecord,
    Status,
    Target,
)
from modelport.routing.spec import DeploymentSpec

__all__ = [
    "add_event",
    "add_gate",
    "by_id",
    "current",
    "current_all",
    "events",
    "gates",
    "insert",
    "read_revision",
    "touch",
    "touch_revision",
]


def read_revision(conn: Connection) -> int:
    """The routing revision: it changes whenever any deployment does."""
    value = conn.execute(
        sa.select(t.routing_revision.c.revision).where(t.routing_revision.c.id == 1)
    ).scalar()
    return int(value or 0)


def touch_revision(conn: Connection) -> int:
    """Bump the routing revision (locking its row on PostgreSQL); the new value."""
    updated = conn.execute(
        sa.update(t.routing_revision)
        .where(t.routing_revision.c.id == 1)
        .values(revision=t.routing_revision.c.revision + 1)
    )
    if updated.rowcount == 0:
        conn.execute(sa.insert(t.routing_revision).values(id=1, revision=1))
    return read_revision(conn)


def insert(conn: Connection, plan: DeploymentPlan, weights: tuple[Arm, ...], *, actor: str,
           now: datetime) -> int:
    revision = touch_revision(conn)
    spec = plan.spec
    return int(conn.execute(
        sa.insert(t.deployments).values(
            endpoint=spec.endpoint,
            strategy=spec.strategy,
            status=Status.RUNNING.value,
            spec=spec.model_dump(mode="json", exclude_none=True),
            source=plan.source,
            stable_model=plan.stable.model,
            stable_version=plan.stable.version,
            candidate_model=plan.candidate.model,
            candidate_version=plan.candidate.version,
            weights=[a.to_dict() for a in weights],
            shadows=[{"model": s.model, "version": s.version} for s in plan.shadows],
            step=0,
            step_started_at=now,
            effective_at=now,
            switch_requested=False,
            revision=revision,
            created_by=actor,
            created_at=now,
            updated_at=now,
        ).returning(t.deployments.c.id)
    ).scalar_one())


def touch(conn: Connection, deployment_id: int, *, now: datetime, **values: Any) -> None:
    """Update one deployment (``weights`` as Arms, ``status`` as Status) and bump revisions."""
    if "weights" in values:
        values["weights"] = [a.to_dict() for a in values["weights"]]
    if "status" in values:
        values["status"] = Status(values["status"]).value
    revision = touch_revision(conn)
    conn.execute(
        sa.update(t.deployments)
        .where(t.deployments.c.id == deployment_id)
        .values(revision=revision, updated_at=now, **values)
    )


def current(conn: Connection, endpoint: str) -> DeploymentRecord | None:
    """The newest deployment of ``endpoint``: the one its route follows."""
    row = conn.execute(
        sa.select(t.deployments)
        .where(t.deployments.c.endpoint == endpoint)
        .order_by(t.deployments.c.id.desc())
        .limit(1)
    ).first()
    return _record(row) if row is not None else None


def recent(conn: Connection, endpoint: str, *, limit: int = 20) -> list[DeploymentRecord]:
    """The newest ``limit`` deployments of ``endpoint``, newest first (its rollout history)."""
    rows = conn.execute(
        sa.select(t.deployments)
        .where(t.deployments.c.endpoint == endpoint)
        .order_by(t.deployments.c.id.desc())
        .limit(limit)
    ).all()
    return [_record(r) for r in rows]


def by_id(conn: Connection, deployment_id: int) -> DeploymentRecord | None:
    row = conn.execute(
        sa.select(t.deployments).where(t.deployments.c.id == deployment_id)
    ).first()
    return _record(row) if row is not None else None


def current_all(conn: Connection, *, active_only: bool = False) -> list[DeploymentRecord]:
    """The newest deployment of every endpoint, by endpoint name."""
    newest = (
        sa.select(sa.func.max(t.deployments.c.id))
        .group_by(t.deployments.c.endpoint)
        .scalar_subquery()
    )
    query = sa.select(t.deployments).where(t.deployments.c.id.in_(newest))
    if active_only:
        query = query.where(
            t.deployments.c.status.in_([Status.RUNNING.value, Status.PAUSED.value])
        )
    rows = conn.execute(query.order_by(t.deployments.c.endpoint)).all()
    return [_record(r) for r in rows]


def add_event(conn: Connection, deployment_id: int, *, actor: str, action: str, detail: str,
              now: datetime, data: dict[str, Any] | None = None) -> None:
    conn.execute(sa.insert(t.deployment_events).values(
        deployment_id=deployment_id, at=now, actor=actor, action=action, detail=detail,
        data=data or None,
    ))


def events(conn: Connection, deployment_id: int) -> list[Event]:
    rows = conn.execute(
        sa.select(t.deployment_events)
        .where(t.deployment_events.c.deployment_id == deployment_id)
        .order_by(t.deployment_events.c.id)
    ).all()
    return [Event(at=r.at, actor=r.actor, action=r.action, detail=r.detail, data=r.data or {})
            for r in rows]


def add_gate(conn: Connection, deployment_id: int, *, step: int, verdict: str,
             readings: list[dict[str, Any]], now: datetime) -> None:
    conn.execute(sa.insert(t.deployment_gates).values(
        deployment_id=deployment_id, step=step, at=now, verdict=verdict, readings=readings,
    ))


def gates(conn: Connection, deployment_id: int) -> list[GateRecord]:
    rows = conn.execute(
        sa.select(t.deployment_gates)
        .where(t.deployment_gates.c.deployment_id == deployment_id)
        .order_by(t.deployment_gates.c.id)
    ).all()
    return [GateRecord(step=r.step, at=r.at, verdict=r.verdict, readings=list(r.readings))
            for r in rows]


def _record(row: Row[Any]) -> DeploymentRecord:
    return DeploymentRecord(
        id=row.id,
        endpoint=row.endpoint,
        strategy=row.strategy,
        status=Status(row.status),
        spec=DeploymentSpec.model_validate(row.spec),
        stable=Target(row.stable_model, row.stable_version),
        candidate=Target(row.candidate_model, row.candidate_version),
        weights=tuple(Arm.from_dict(a) for a in row.weights),
        shadows=tuple(Target(str(s["model"]), int(s["version"])) for s in row.shadows),
        step=row.step,
        step_started_at=row.step_started_at,
        effective_at=row.effective_at,
        switch_requested=bool(row.switch_requested),
        reason=row.reason,
        revision=int(row.revision),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
