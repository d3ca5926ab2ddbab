"""The tamper-evident audit log: a hash chain of rows in the registry database.

Row ``seq`` stores the hash of row ``seq - 1`` (``prev_hash``) and its own hash over the
canonical JSON of its fields, so editing, inserting or deleting a row breaks the chain at
that row, and :func:`verify_audit` names it. Appends are serialised (SQLite's write lock,
a PostgreSQL advisory lock) so concurrent writers never fork the chain. Anyone who can
rewrite the whole table can recompute the chain from the first changed row on: keep the
head that ``modelport audit verify`` prints somewhere else and pass it back as an anchor.

Other packages call :func:`append_audit`; the server's hot path hands rows to an
:class:`AuditWriter`, which appends them in batches from a thread.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelport.errors import InvalidInput
from modelport.registry import db
from modelport.registry.tables import utcnow
from modelport.registry.tables_security import audit_log

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditEvent",
    "AuditProblem",
    "AuditReport",
    "append",
    "append_audit",
    "append_events",
    "chain_hash",
    "list_audit",
    "verify_audit",
]

log = logging.getLogger(__name__)

GENESIS = "0" * 64
"""The ``prev_hash`` of the first row."""

_LOCK_KEY = 0x6D70617564  # PostgreSQL advisory-lock key for appends ("mpaud")
_SECRETISH = re.compile(r"secret|token|password|passwd|authorization|api[_-]?key|credential", re.I)
_PAGE = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """One thing to record, before it has a place in the chain."""

    action: str
    """What happened, dotted: ``model.register``, ``alias.move``, ``key.create``, ..."""
    actor: str
    """Who did it: a user name or a principal id (never a secret)."""
    target: str = ""
    """What it happened to: ``fraud:3``, ``fraud@production``, a key id."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Anything else worth keeping; values under secret-looking keys are masked."""
    at: datetime | None = None
    """When; now when None."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """A row of the chain, as stored."""

    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class AuditProblem:
    seq: int
    kind: str
    """``edited``, ``missing``, ``out_of_chain`` or ``anchor``."""
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditReport:
    """What :func:`verify_audit` found."""

    rows: int
    head_seq: int | None
    head_hash: str | None
    problems: list[AuditProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


def chain_hash(
    *, seq: int, at: datetime, actor: str, action: str, target: str, details: str, prev_hash: str
) -> str:
    """sha256 of the canonical JSON of one row's fields (``details`` as its stored text)."""
    doc = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "target": target,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """Sorted-key JSON with secret-looking values masked; the text that is hashed and kept."""
    return orjson.dumps(
        _masked(dict(details or {})),
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
        default=str,
    ).decode()


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: ("***" if _SECRETISH.search(str(k)) else _masked(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def append_events(conn: Connection, events: Sequence[AuditEvent]) -> list[AuditEntry]:
    """Append ``events`` in order inside the caller's write transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    head = conn.execute(
        sa.select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    out: list[AuditEntry] = []
    for event in events:
        action = _check_action(event.action)
        actor = (event.actor or "unknown")[:256]
        target = (event.target or "")[:512]
        at = (event.at or utcnow()).astimezone(UTC)
        details = canonical_details(event.details)
        seq += 1
        digest = chain_hash(
            seq=seq, at=at, actor=actor, action=action, target=target, details=details,
            prev_hash=prev,
        )
        row = {
            "seq": seq, "at": at, "actor": actor, "action": action, "target": target,
            "details": details, "prev_hash": prev, "hash": digest,
        }
        conn.execute(sa.insert(audit_log).values(**row))
        out.append(_entry(row))
        prev = digest
    return out


def append_audit(
    engine: Engine,
    *,
    action: str,
    actor: str,
    target: str = "",
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one row in its own transaction; safe from many processes at once."""
    event = AuditEvent(action=action, actor=actor, target=target, details=details or {})
    return db.run_write(engine, lambda conn: append_events(conn, [event])[0], retry_integrity=True)


append = append_audit
"""Short name for :func:`append_audit`."""


def list_audit(
    engine: Engine,
    *,
    since: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 1000,
) -> list[AuditEntry]:
    """The newest ``limit`` rows matching the filters, oldest first."""
    if limit < 1:
        raise InvalidInput(f"limit must be >= 1, got {limit}")
    query = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if action is not None:
        query = query.where(audit_log.c.action.startswith(action, autoescape=True))
    with db.transaction(engine) as conn:
        rows = conn.execute(query).mappings().all()
    return [_entry(r) for r in reversed(rows)]


def verify_audit(engine: Engine, *, anchor: tuple[int, str] | None = None) -> AuditReport:
    """Walk the chain; every edited, missing or out-of-chain row is named.

    ``anchor`` (a ``(seq, hash)`` printed by an earlier verify and kept elsewhere) also
    catches rows removed from the end and a chain recomputed from scratch.
    """
    problems: list[AuditProblem] = []
    expected, prev, rows = 1, GENESIS, 0
    head: tuple[int, str] | None = None
    anchor_seen = False
    for row in _pages(engine):
        rows += 1
        seq, stored = int(row["seq"]), str(row["hash"])
        if seq != expected:
            missing = f"row {expected}" if seq == expected + 1 else f"rows {expected}-{seq - 1}"
            problems.append(AuditProblem(seq, "missing", f"{missing} missing: deleted"))
        digest = chain_hash(
            seq=seq, at=row["at"], actor=row["actor"], action=row["action"],
            target=row["target"], details=row["details"], prev_hash=row["prev_hash"],
        )
        if digest != stored:
            problems.append(AuditProblem(seq, "edited", _edited(row, digest)))
        elif row["prev_hash"] != prev and seq == expected:
            problems.append(
                AuditProblem(
                    seq, "out_of_chain",
                    f"row {seq} does not follow row {seq - 1}: row {seq - 1} was replaced, "
                    f"or row {seq} was inserted",
                )
            )
        if anchor is not None and seq == anchor[0]:
            anchor_seen = True
            if stored != anchor[1]:
                problems.append(
                    AuditProblem(seq, "anchor", f"row {seq} no longer has the anchored hash: "
                                 "the log was rewritten up to it")
                )
        prev, expected, head = stored, seq + 1, (seq, stored)
    if anchor is not None and not anchor_seen:
        problems.append(
            AuditProblem(anchor[0], "anchor", f"anchored row {anchor[0]} is gone: rows were "
                         "deleted from the end of the log")
        )
    return AuditReport(
        rows=rows,
        head_seq=head[0] if head else None,
        head_hash=head[1] if head else None,
        problems=problems,
    )


def _edited(row: Mapping[str, Any], digest: str) -> str:
    seq = int(row["seq"])
    shifted = chain_hash(
        seq=seq - 1, at=row["at"], actor=row["actor"], action=row["action"],
        target=row["target"], details=row["details"], prev_hash=row["prev_hash"],
    )
    if shifted == row["hash"]:
        return f"row {seq} was row {seq - 1}: a row was inserted before it"
    return f"row {seq} was edited: its content no longer matches its hash"


def _pages(engine: Engine) -> Iterator[Any]:
    last = 0
    while True:
        query = (
            sa.select(audit_log).where(audit_log.c.seq > last).order_by(audit_log.c.seq)
            .limit(_PAGE)
        )
        with db.transaction(engine) as conn:
            rows = conn.execute(query).mappings().all()
        if not rows:
            return
        yield from rows
        last = int(rows[-1]["seq"])


def _entry(row: Any) -> AuditEntry:
    try:
        details = orjson.loads(row["details"])
    except orjson.JSONDecodeError:
        details = {"unreadable": str(row["details"])}
    return AuditEntry(
        seq=int(row["seq"]),
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        details=details if isinstance(details, dict) else {"value": details},
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _check_action(action: str) -> str:
    if not action or len(action) > 64 or not action.replace(".", "").replace("_", "").isalnum():
        raise InvalidInput(
            f"audit action {action!r} must be 1-64 letters, digits, dots or underscores, "
            "e.g. model.register"
        )
    return action
