"""Monitoring events in the registry database: what was noticed, when, about which version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelport.registry import db
from modelport.registry import tables as t
from modelport.registry.tables_monitoring import events as events_table

__all__ = ["Event", "last_event", "list_events", "record_event"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    at: datetime
    model: str
    version: str | None
    kind: str
    """``drift``, ``degraded``, ``retrain`` or ``recovered``."""
    summary: str
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "model": self.model, "version": self.version,
                "kind": self.kind, "summary": self.summary, "details": self.details}


def record_event(engine: Engine, *, model: str, version: str | None, kind: str, summary: str,
                 details: dict[str, Any] | None = None, at: datetime | None = None) -> Event:
    event = Event(at=at or t.utcnow(), model=model, version=version, kind=kind,
                  summary=summary, details=details or {})

    def work(conn: Connection) -> None:
        conn.execute(sa.insert(events_table).values(
            at=event.at, model=model, version=version, kind=kind, summary=summary,
            details=event.details))

    db.run_write(engine, work)
    return event


def list_events(engine: Engine, *, model: str | None = None, kinds: tuple[str, ...] = (),
                since: datetime | None = None, limit: int = 100) -> list[Event]:
    """Newest first."""
    c = events_table.c
    query = sa.select(c.at, c.model, c.version, c.kind, c.summary, c.details)
    if model is not None:
        query = query.where(c.model == model)
    if kinds:
        query = query.where(c.kind.in_(kinds))
    if since is not None:
        query = query.where(c.at >= since)
    with db.transaction(engine) as conn:
        rows = conn.execute(query.order_by(c.at.desc(), c.id.desc()).limit(limit)).all()
    return [Event(at=r.at, model=r.model, version=r.version, kind=r.kind, summary=r.summary,
                  details=r.details or {}) for r in rows]


def last_event(engine: Engine, model: str, version: str | None, kinds: tuple[str, ...]
               ) -> Event | None:
    c = events_table.c
    query = sa.select(c.at, c.model, c.version, c.kind, c.summary, c.details).where(
        c.model == model, c.kind.in_(kinds))
    if version is not None:
        query = query.where(c.version == version)
    with db.transaction(engine) as conn:
        row = conn.execute(query.order_by(c.at.desc(), c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return Event(at=row.at, model=row.model, version=row.version, kind=row.kind,
                 summary=row.summary, details=row.details or {})
