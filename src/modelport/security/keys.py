"""API keys: random, shown once, stored only as a hash, expiring, revocable.

A key reads ``mp_<key id>_<secret>``. The key id (12 hex digits) is not secret: it is how a
key is found, listed and revoked, and what logs and the audit log name. The secret is 32
random bytes (``secrets.token_urlsafe``); only its sha256 is stored. A slow password hash
(bcrypt, argon2) exists to protect guessable passwords; a 256-bit random secret cannot be
guessed, so one sha256 is as safe and keeps verification fast. Stored and presented hashes
are compared with :func:`hmac.compare_digest` (constant time).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelport.errors import InvalidInput, NotFound, Unauthenticated
from modelport.registry import db
from modelport.registry.tables import utcnow
from modelport.registry.tables_security import api_keys
from modelport.security.audit import AuditEvent, append_events
from modelport.security.roles import Principal, Role, parse_models

__all__ = ["KeyRecord", "KeyStore", "NewKey", "parse_key", "secret_digest"]

PREFIX = "mp"
_KEY_ID_HEX = 12
#: The one message every bad key gets: it never says which part was wrong.
INVALID_KEY = "invalid API key"


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRecord:
    """What is known about a key (never its secret)."""

    key_id: str
    name: str
    role: Role
    models: frozenset[str] | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def principal(self) -> Principal:
        return Principal(id=f"key:{self.key_id}", name=self.name, role=self.role,
                         models=self.models, method="api_key")

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "role": self.role.label,
            "models": sorted(self.models) if self.models is not None else None,
            "state": self.state(now or utcnow()),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revoked_by": self.revoked_by,
        }


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly created key: ``token`` is shown once and never stored."""

    token: str
    record: KeyRecord

    def __repr__(self) -> str:  # never print the secret by accident
        return f"NewKey(key_id={self.record.key_id!r}, token='***')"


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def parse_key(token: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a well-formed key, else None."""
    prefix, sep, rest = token.partition("_")
    key_id, sep2, secret = rest.partition("_")
    if (
        prefix != PREFIX or not sep or not sep2 or len(key_id) != _KEY_ID_HEX
        or not all(c in "0123456789abcdef" for c in key_id) or len(secret) < 32
    ):
        return None
    return key_id, secret


class KeyStore:
    """API keys in the registry database; every create and revoke is audited."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        *,
        name: str,
        role: Role | str,
        actor: str,
        models: Iterable[str] | str | None = None,
        expires_in: timedelta | None = None,
    ) -> NewKey:
        name = name.strip()
        if not name or len(name) > 128:
            raise InvalidInput(f"key name must be 1-128 characters, got {name!r}")
        role = role if isinstance(role, Role) else Role.parse(role)
        scope = parse_models(models)
        if expires_in is not None and expires_in.total_seconds() <= 0:
            raise InvalidInput("a key's lifetime must be longer than zero, e.g. --expires 90d")
        key_id = secrets.token_hex(_KEY_ID_HEX // 2)
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        record = KeyRecord(
            key_id=key_id, name=name, role=role, models=scope, created_at=now, created_by=actor,
            expires_at=now + expires_in if expires_in is not None else None,
        )

        def work(conn: Connection) -> None:
            conn.execute(sa.insert(api_keys).values(
                key_id=key_id, name=name, role=role.label,
                models=sorted(scope) if scope is not None else None,
                secret_sha256=secret_digest(secret), created_at=now, created_by=actor,
                expires_at=record.expires_at,
            ))
            details = {"name": name, "role": role.label, "models": record.to_dict()["models"],
                       "expires_at": record.to_dict()["expires_at"]}
            append_events(conn, [AuditEvent(action="key.create", actor=actor,
                                            target=f"key:{key_id}", details=details)])

        db.run_write(self.engine, work)
        return NewKey(token=f"{PREFIX}_{key_id}_{secret}", record=record)

    def list(self) -> list[KeyRecord]:
        with db.transaction(self.engine) as conn:
            rows = conn.execute(sa.select(api_keys).order_by(api_keys.c.id)).mappings().all()
        return [_record(r) for r in rows]

    def revoke(self, key_id: str, *, actor: str) -> KeyRecord:
        """Revoke a key (idempotent: revoking twice keeps the first revocation)."""
        key_id = key_id.strip().removeprefix("key:")

        def work(conn: Connection) -> KeyRecord:
            row = conn.execute(
                sa.select(api_keys).where(api_keys.c.key_id == key_id)
            ).mappings().first()
            if row is None:
                raise NotFound(f"no API key with id {key_id!r}; see: modelport auth keys list")
            if row["revoked_at"] is None:
                conn.execute(
                    sa.update(api_keys).where(api_keys.c.key_id == key_id)
                    .values(revoked_at=utcnow(), revoked_by=actor)
                )
                append_events(conn, [AuditEvent(action="key.revoke", actor=actor,
                                                target=f"key:{key_id}",
                                                details={"name": row["name"]})])
            return _record(conn.execute(
                sa.select(api_keys).where(api_keys.c.key_id == key_id)
            ).mappings().one())

        return db.run_write(self.engine, work)

    def exists(self) -> bool:
        """Whether any key was ever created (revoked ones count: revoking every key must
        never turn a server open)."""
        with db.transaction(self.engine) as conn:
            return conn.execute(sa.select(api_keys.c.id).limit(1)).first() is not None

    def verify(self, token: str) -> tuple[Principal, datetime | None]:
        """The principal of a valid key and when it expires; Unauthenticated otherwise.

        Every failure answers the same message; the reason is only in the exception's
        ``details`` (for the server's log), never the key.
        """
        parsed = parse_key(token)
        if parsed is None:
            raise Unauthenticated(INVALID_KEY, details={"reason": "malformed key"})
        key_id, secret = parsed
        with db.transaction(self.engine) as conn:
            row = conn.execute(
                sa.select(api_keys).where(api_keys.c.key_id == key_id)
            ).mappings().first()
        presented = secret_digest(secret)
        stored = row["secret_sha256"] if row is not None else secret_digest("")
        matches = hmac.compare_digest(presented, stored)
        if row is None or not matches:
            reason = "unknown key id" if row is None else "wrong secret"
            raise Unauthenticated(INVALID_KEY, details={"reason": reason, "key_id": key_id})
        record = _record(row)
        state = record.state(utcnow())
        if state != "active":
            raise Unauthenticated(f"API key {key_id} is {state}",
                                  details={"reason": state, "key_id": key_id})
        return record.principal(), record.expires_at


def _record(row: Any) -> KeyRecord:
    return KeyRecord(
        key_id=row["key_id"],
        name=row["name"],
        role=Role.parse(row["role"]),
        models=parse_models(row["models"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        revoked_by=row["revoked_by"],
    )
