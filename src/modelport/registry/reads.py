"""Queries that turn registry rows into plain records, with NotFound messages that help.

Every function takes an open connection, so callers choose the transaction; versions are
loaded in batches (one query per table, not per version).
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from modelport.errors import NotFound
from modelport.protocol.signature import Signature
from modelport.registry import tables as t
from modelport.registry.lineage import Lineage
from modelport.registry.records import AliasMove, ModelSummary, VersionInfo
from modelport.registry.refs import ModelRef

_SHOWN = 20  # at most this many names in a "known ..." hint


def find_model(conn: Connection, name: str, *, lock: bool = False) -> Row[Any] | None:
    """The model row, optionally locked against concurrent writers (PostgreSQL)."""
    query = sa.select(t.models).where(t.models.c.name == name)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def require_model(conn: Connection, name: str, *, lock: bool = False) -> Row[Any]:
    """The model row, or NotFound suggesting close names and listing known ones."""
    row = find_model(conn, name, lock=lock)
    if row is not None:
        return row
    known = list(conn.execute(sa.select(t.models.c.name).order_by(t.models.c.name)).scalars())
    if not known:
        raise NotFound(f"no model named {name!r}: the registry is empty; register a model first")
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise NotFound(f"no model named {name!r}; {hint}known models: {_listing(known)}")


def pick_version(conn: Connection, model: Row[Any], ref: ModelRef) -> int:
    """The version number ``ref`` designates, or NotFound listing what exists."""
    if ref.alias is not None:
        found = conn.execute(
            sa.select(t.aliases.c.version).where(
                t.aliases.c.model_id == model.id, t.aliases.c.name == ref.alias
            )
        ).scalar()
        if found is None:
            pairs = alias_map(conn, model.id)
            known = ", ".join(f"{a} -> {v}" for a, v in pairs.items()) or "none"
            raise NotFound(f"model {model.name!r} has no alias {ref.alias!r}; its aliases: {known}")
        return int(found)
    numbers = version_numbers(conn, model.id)
    if ref.version is None:
        if not numbers:
            raise NotFound(f"model {model.name!r} has no versions left; register a new one")
        return numbers[-1]
    if ref.version not in numbers:
        known = _listing([str(n) for n in reversed(numbers)]) if numbers else "none"
        raise NotFound(f"model {model.name!r} has no version {ref.version}; versions: {known}")
    return ref.version


def version_numbers(conn: Connection, model_id: int) -> list[int]:
    query = (
        sa.select(t.model_versions.c.version)
        .where(t.model_versions.c.model_id == model_id)
        .order_by(t.model_versions.c.version)
    )
    return [int(v) for v in conn.execute(query).scalars()]


def alias_map(conn: Connection, model_id: int) -> dict[str, int]:
    query = (
        sa.select(t.aliases.c.name, t.aliases.c.version)
        .where(t.aliases.c.model_id == model_id)
        .order_by(t.aliases.c.name)
    )
    return {name: int(version) for name, version in conn.execute(query)}


def version_infos(
    conn: Connection, model: Row[Any], versions: Sequence[int] | None = None
) -> list[VersionInfo]:
    """Full records of some (default: all) versions of one model, in version order."""
    query = sa.select(t.model_versions).where(t.model_versions.c.model_id == model.id)
    if versions is not None:
        query = query.where(t.model_versions.c.version.in_(list(versions)))
    rows = list(conn.execute(query.order_by(t.model_versions.c.version)))
    ids = [row.id for row in rows]
    tags = _key_values(conn, t.tags, ids)
    metrics = _key_values(conn, t.metrics, ids)
    params = _key_values(conn, t.params, ids)
    by_version: dict[int, list[str]] = defaultdict(list)
    for alias, number in alias_map(conn, model.id).items():
        by_version[number].append(alias)
    return [
        _version_info(
            model.name,
            row,
            aliases=tuple(sorted(by_version.get(row.version, []))),
            tags=tags.get(row.id, {}),
            metrics={k: float(v) for k, v in metrics.get(row.id, {}).items()},
            params=params.get(row.id, {}),
        )
        for row in rows
    ]


def _key_values(
    conn: Connection, table: sa.Table, version_ids: Iterable[int]
) -> dict[int, dict[str, Any]]:
    ids = list(version_ids)
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    if not ids:
        return out
    query = sa.select(table).where(table.c.version_id.in_(ids)).order_by(table.c.key)
    for row in conn.execute(query):
        out[row.version_id][row.key] = row.value
    return out


def _version_info(name: str, row: Row[Any], **extra: Any) -> VersionInfo:
    return VersionInfo(
        name=name,
        version=row.version,
        flavor=row.flavor,
        artifact_uri=row.artifact_uri,
        artifact_sha256=row.artifact_sha256,
        artifact_size=int(row.artifact_size),
        signature=Signature.from_dict(row.signature),
        registered_by=row.registered_by,
        created_at=row.created_at,
        status=row.status,
        trust_pickle=bool(row.trust_pickle),
        card=row.card,
        lineage=Lineage(
            training_data_uri=row.training_data_uri,
            training_data_sha256=row.training_data_sha256,
            code_revision=row.code_revision,
            parent_version=row.parent_version,
            reference_uri=row.reference_uri,
            reference_sha256=row.reference_sha256,
        ),
        **extra,
    )


def summaries(conn: Connection, name: str | None = None) -> list[ModelSummary]:
    """Summaries of every model (or just ``name``), sorted by name."""
    mv = t.model_versions
    query = (
        sa.select(
            t.models,
            sa.func.max(mv.c.version).label("latest"),
            sa.func.count(mv.c.id).label("n_versions"),
        )
        .select_from(t.models.outerjoin(mv, mv.c.model_id == t.models.c.id))
        .group_by(*t.models.c)
        .order_by(t.models.c.name)
    )
    if name is not None:
        query = query.where(t.models.c.name == name)
    rows = list(conn.execute(query))
    aliases: dict[int, dict[str, int]] = defaultdict(dict)
    alias_query = sa.select(t.aliases).order_by(t.aliases.c.name)
    if name is not None:
        alias_query = alias_query.where(t.aliases.c.model_id.in_([r.id for r in rows]))
    for a in conn.execute(alias_query):
        aliases[a.model_id][a.name] = int(a.version)
    return [
        ModelSummary(
            name=r.name,
            description=r.description,
            created_at=r.created_at,
            latest_version=None if r.latest is None else int(r.latest),
            version_count=int(r.n_versions),
            aliases=aliases.get(r.id, {}),
        )
        for r in rows
    ]


def alias_events(conn: Connection, model: Row[Any], alias: str | None) -> list[AliasMove]:
    ev = t.alias_events
    query = sa.select(ev).where(ev.c.model_id == model.id).order_by(ev.c.id)
    if alias is not None:
        query = query.where(ev.c.alias == alias)
    return [
        AliasMove(
            name=model.name,
            alias=row.alias,
            from_version=row.from_version,
            to_version=row.to_version,
            actor=row.actor,
            at=row.at,
        )
        for row in conn.execute(query)
    ]


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" (and {len(names) - _SHOWN} more)" if len(names) > _SHOWN else "")
