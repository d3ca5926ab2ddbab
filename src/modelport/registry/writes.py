"""Statements shared by several registry writes; each runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from modelport.registry import reads
from modelport.registry import tables as t
from modelport.registry.records import AliasMove


def get_or_create_model(
    conn: Connection, name: str, description: str | None, now: datetime
) -> Row[Any]:
    model = reads.find_model(conn, name, lock=True)
    if model is None:
        # A concurrent creator makes this a unique violation; run_write then retries.
        conn.execute(sa.insert(t.models).values(name=name, description=description, created_at=now))
        model = reads.find_model(conn, name, lock=True)
    elif description is not None and description != model.description:
        conn.execute(
            sa.update(t.models).where(t.models.c.id == model.id).values(description=description)
        )
    assert model is not None
    return model


def put_values(
    conn: Connection, table: sa.Table, version_id: int, values: Mapping[str, Any]
) -> None:
    if not values:
        return
    conn.execute(
        sa.delete(table).where(table.c.version_id == version_id, table.c.key.in_(list(values)))
    )
    conn.execute(
        sa.insert(table),
        [{"version_id": version_id, "key": k, "value": v} for k, v in values.items()],
    )


def move_alias(
    conn: Connection, model: Row[Any], alias: str, version: int, actor: str, now: datetime
) -> AliasMove:
    where = (t.aliases.c.model_id == model.id, t.aliases.c.name == alias)
    current = conn.execute(sa.select(t.aliases.c.version).where(*where)).scalar()
    values = {"version": version, "updated_at": now, "updated_by": actor}
    if current is None:
        conn.execute(sa.insert(t.aliases).values(model_id=model.id, name=alias, **values))
    elif current != version:
        conn.execute(sa.update(t.aliases).where(*where).values(**values))
    else:  # already there: nothing moved, nothing to record
        return AliasMove(
            name=model.name,
            alias=alias,
            from_version=version,
            to_version=version,
            actor=actor,
            at=now,
        )
    return record_move(conn, model, alias, current, version, actor, now)


def record_move(
    conn: Connection,
    model: Row[Any],
    alias: str,
    from_version: int | None,
    to_version: int | None,
    actor: str,
    now: datetime,
) -> AliasMove:
    conn.execute(
        sa.insert(t.alias_events).values(
            model_id=model.id,
            alias=alias,
            from_version=from_version,
            to_version=to_version,
            actor=actor,
            at=now,
        )
    )
    return AliasMove(
        name=model.name,
        alias=alias,
        from_version=from_version,
        to_version=to_version,
        actor=actor,
        at=now,
    )
