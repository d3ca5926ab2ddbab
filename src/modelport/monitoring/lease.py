"""A lease row in the registry database: whoever holds it runs the scheduled checks.

Every worker of every replica tries to take or renew the lease on each tick; only one holds it
at a time. A holder that dies stops renewing, and another takes over once it expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelport.registry import db
from modelport.registry import tables as t
from modelport.registry.tables_monitoring import leases

__all__ = ["acquire_lease", "release_lease"]


def acquire_lease(engine: Engine, name: str, holder: str, ttl_s: float,
                  *, now: datetime | None = None) -> bool:
    """Take or renew lease ``name`` for ``ttl_s`` seconds; False when someone else holds it."""
    now = now or t.utcnow()
    expires = now + timedelta(seconds=ttl_s)
    c = leases.c

    def work(conn: Connection) -> bool:
        row = conn.execute(
            sa.select(c.holder, c.expires_at).where(c.name == name).with_for_update()
        ).first()
        if row is None:
            conn.execute(sa.insert(leases).values(name=name, holder=holder, expires_at=expires))
            return True
        if row.holder != holder and row.expires_at > now:
            return False
        conn.execute(sa.update(leases).where(c.name == name).values(
            holder=holder, expires_at=expires))
        return True

    try:
        return db.run_write(engine, work)
    except sa.exc.IntegrityError:  # another worker inserted the row first
        return False


def release_lease(engine: Engine, name: str, holder: str) -> None:
    """Give the lease up (on shutdown), so another worker need not wait for it to expire."""
    c = leases.c

    def work(conn: Connection) -> None:
        conn.execute(sa.delete(leases).where(c.name == name, c.holder == holder))

    db.run_write(engine, work)
