"""The security tables, on the registry's one ``metadata``.

Created by migration ``migrations/versions/0002_security.py``; imported by ``tables.py``
so that migrations and the schema check see them.
"""

from __future__ import annotations

import sqlalchemy as sa

from modelport.registry.tables import UTCDateTime, metadata

__all__ = ["api_keys", "audit_log", "metadata"]

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key_id", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("models", sa.JSON),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("expires_at", UTCDateTime),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("revoked_by", sa.String(256)),
)
"""One row per API key. Only the sha256 of the secret part is kept; ``key_id`` is the
non-secret prefix the key is looked up by. ``models`` (a JSON list) scopes the key."""

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(512), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index(None, "at"),
    sa.Index(None, "actor"),
)
"""The hash chain: row ``seq`` stores the hash of row ``seq - 1`` and its own hash over the
canonical JSON of its fields. ``details`` is that canonical JSON text, kept verbatim."""
