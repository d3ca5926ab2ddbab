"""Measurements, worker heartbeats and the controller lease: queries on one connection."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelport.registry import tables_routing as t
from modelport.routing.collector import Window
from modelport.routing.records import Target
from modelport.routing.stats import LatencyHistogram, PredictionSketch, ShadowCounts, VersionCounts

__all__ = [
    "WorkerState",
    "acquire_lease",
    "drop_worker",
    "heartbeat",
    "prune",
    "release_lease",
    "shadow_totals",
    "step_counts",
    "workers",
    "write_window",
]


def write_window(conn: Connection, window: Window, *, worker: str) -> None:
    """Insert one worker's window: a row per version, per shadow, per A/B assignment.

    Rows of deployments deleted meanwhile are skipped (their foreign key would fail)."""
    ids = {k[0] for k in window.primary} | {k[0] for k in window.shadow}
    ids |= {a.deployment_id for a in window.assignments}
    if not ids:
        return
    alive = set(conn.execute(
        sa.select(t.deployments.c.id).where(t.deployments.c.id.in_(ids))).scalars())
    rows = [
        {"deployment_id": dep, "step": step, "model": model, "version": version, "role": role,
         "worker": worker, "window_start": window.start, "window_end": window.end,
         "requests": c.requests, "errors": c.errors, "latency": c.latency.to_json(),
         "predictions": c.predictions.to_json()}
        for (dep, step, model, version, role), c in window.primary.items() if dep in alive
    ]
    if rows:
        conn.execute(sa.insert(t.routing_stats), rows)
    shadow_rows = [
        {"deployment_id": dep, "model": model, "version": version, "worker": worker,
         "window_start": window.start, "window_end": window.end,
         **{name: getattr(c, name) for name in ShadowCounts.__slots__}}
        for (dep, model, version), c in window.shadow.items() if dep in alive
    ]
    if shadow_rows:
        conn.execute(sa.insert(t.shadow_stats), shadow_rows)
    assigned = [
        {"deployment_id": a.deployment_id, "request_id": a.request_id, "model": a.model,
         "version": a.version, "arm": a.arm, "prediction": a.prediction, "at": a.at}
        for a in window.assignments if a.deployment_id in alive
    ]
    if assigned:
        conn.execute(sa.insert(t.ab_assignments), assigned)


def step_counts(conn: Connection, deployment_id: int, step: int) -> dict[str, VersionCounts]:
    """Every worker's counts for one canary step, merged per role (stable, candidate)."""
    rows = conn.execute(
        sa.select(t.routing_stats.c.role, t.routing_stats.c.requests, t.routing_stats.c.errors,
                  t.routing_stats.c.latency, t.routing_stats.c.predictions)
        .where(t.routing_stats.c.deployment_id == deployment_id,
               t.routing_stats.c.step == step)
    ).all()
    out: dict[str, VersionCounts] = {}
    for row in rows:
        counts = out.setdefault(row.role, VersionCounts())
        counts.merge(VersionCounts(
            requests=row.requests, errors=row.errors,
            latency=LatencyHistogram.from_json(row.latency),
            predictions=PredictionSketch.from_json(row.predictions),
        ))
    return out


def shadow_totals(conn: Connection, deployment_id: int) -> dict[Target, ShadowCounts]:
    """Everything mirrored to each shadow version of a deployment, over its whole life."""
    c = t.shadow_stats.c
    fields = list(ShadowCounts.__slots__)
    rows = conn.execute(
        sa.select(c.model, c.version, *[sa.func.sum(getattr(c, f)).label(f) for f in fields])
        .where(c.deployment_id == deployment_id)
        .group_by(c.model, c.version)
    ).all()
    out: dict[Target, ShadowCounts] = {}
    for row in rows:
        values = {f: type(getattr(ShadowCounts(), f))(getattr(row, f) or 0) for f in fields}
        out[Target(row.model, row.version)] = ShadowCounts(**values)
    return out


class WorkerState:
    """One worker as its last heartbeat described it."""

    __slots__ = ("failed", "heartbeat_at", "loaded", "revision", "worker")

    def __init__(self, worker: str, heartbeat_at: datetime, revision: int,
                 loaded: list[str], failed: dict[str, str]) -> None:
        self.worker = worker
        self.heartbeat_at = heartbeat_at
        self.revision = revision
        self.loaded = loaded
        self.failed = failed

    def to_dict(self) -> dict[str, Any]:
        return {"worker": self.worker, "heartbeat_at": self.heartbeat_at.isoformat(),
                "revision": self.revision, "loaded": self.loaded, "failed": self.failed}


def heartbeat(conn: Connection, *, worker: str, revision: int, loaded: list[str],
              failed: dict[str, str], now: datetime) -> None:
    values = {"heartbeat_at": now, "revision": revision, "loaded": loaded, "failed": failed}
    updated = conn.execute(
        sa.update(t.routing_workers).where(t.routing_workers.c.worker == worker).values(**values)
    )
    if updated.rowcount == 0:
        conn.execute(sa.insert(t.routing_workers).values(worker=worker, **values))
        # a worker that died without a goodbye leaves a row; forget it after a while
        conn.execute(sa.delete(t.routing_workers).where(
            t.routing_workers.c.heartbeat_at < now - timedelta(minutes=10)))


def drop_worker(conn: Connection, worker: str) -> None:
    conn.execute(sa.delete(t.routing_workers).where(t.routing_workers.c.worker == worker))


def workers(conn: Connection, *, alive_since: datetime) -> list[WorkerState]:
    """Workers whose last heartbeat is newer than ``alive_since``."""
    rows = conn.execute(
        sa.select(t.routing_workers).where(t.routing_workers.c.heartbeat_at >= alive_since)
        .order_by(t.routing_workers.c.worker)
    ).all()
    return [WorkerState(r.worker, r.heartbeat_at, int(r.revision), list(r.loaded),
                        dict(r.failed)) for r in rows]


def acquire_lease(conn: Connection, name: str, *, holder: str, ttl_s: float,
                  now: datetime) -> bool:
    """Take or renew the lease ``name`` for ``holder``; False while another holds it."""
    row = conn.execute(
        sa.select(t.routing_leases).where(t.routing_leases.c.name == name).with_for_update()
    ).first()
    expires = now + timedelta(seconds=ttl_s)
    if row is None:
        conn.execute(sa.insert(t.routing_leases).values(name=name, holder=holder,
                                                        expires_at=expires))
        return True
    if row.holder != holder and row.expires_at > now:
        return False
    conn.execute(sa.update(t.routing_leases).where(t.routing_leases.c.name == name)
                 .values(holder=holder, expires_at=expires))
    return True


def release_lease(conn: Connection, name: str, *, holder: str) -> None:
    conn.execute(sa.delete(t.routing_leases).where(
        t.routing_leases.c.name == name, t.routing_leases.c.holder == holder))


def prune(conn: Connection, *, before: datetime) -> int:
    """Delete measurement windows that ended before ``before``; how many rows went."""
    gone = 0
    for table in (t.routing_stats, t.shadow_stats):
        gone += conn.execute(sa.delete(table).where(table.c.window_end < before)).rowcount
    return gone
