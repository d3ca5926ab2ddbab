"""The registry schema as SQLAlchemy Core tables.

These definitions are what the code queries; the Alembic migrations in ``migrations/versions``
are what creates them. Adding a table (deployments, API keys, audit log, ...): define it on
``metadata`` (here or in your own module importing ``metadata``), write the next migration
(``migrations/versions/000N_<what>.py`` with ``down_revision`` set to the current head), and
``tests/registry/test_db.py`` checks the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

#: Constraint names are derived, so later migrations can refer to them on every database.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}; pass a timezone-aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if stamp.tzinfo is None:
            return stamp.replace(tzinfo=UTC)
        return stamp.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


models = sa.Table(
    "models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
"""One row per model name. ``last_version`` hands out version numbers, never reused."""

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("flavor", sa.String(64), nullable=False),
    sa.Column("artifact_uri", sa.Text, nullable=False),
    sa.Column("artifact_sha256", sa.String(64), nullable=False),
    sa.Column("artifact_size", sa.BigInteger, nullable=False),
    sa.Column("signature", sa.JSON, nullable=False),
    sa.Column("card", sa.Text),
    sa.Column("trust_pickle", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.String(32), nullable=False, server_default="ready"),
    sa.Column("registered_by", sa.String(256), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("training_data_uri", sa.Text),
    sa.Column("training_data_sha256", sa.String(64)),
    sa.Column("code_revision", sa.String(64)),
    sa.Column("parent_version", sa.Integer),
    sa.Column("reference_uri", sa.Text),
    sa.Column("reference_sha256", sa.String(64)),
    sa.UniqueConstraint("model_id", "version"),
)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(256), nullable=False),
    sa.UniqueConstraint("model_id", "name"),
    # The database itself refuses to delete a version an alias points at.
    sa.ForeignKeyConstraint(
        ["model_id", "version"],
        ["model_versions.model_id", "model_versions.version"],
        ondelete="RESTRICT",
    ),
)

alias_events = sa.Table(
    "alias_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("from_version", sa.Integer),
    sa.Column("to_version", sa.Integer),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index(None, "model_id", "alias"),
)
"""Every alias move, kept after versions are deleted (plain numbers, no foreign key)."""


def _version_kv(name: str, value_type: sa.types.TypeEngine[Any]) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("value", value_type, nullable=False),
    )


tags = _version_kv("tags", sa.Text())
metrics = _version_kv("metrics", sa.Float())
params = _version_kv("params", sa.Text())

# Tables of the higher floors live beside this module, on the same metadata. Imported last:
# they import ``metadata`` from here.
from modelport.registry import tables_edge as tables_edge  # noqa: E402
from modelport.registry import tables_governance as tables_governance  # noqa: E402
from modelport.registry import tables_monitoring as tables_monitoring  # noqa: E402
from modelport.registry import tables_routing as tables_routing  # noqa: E402
from modelport.registry import tables_security as tables_security  # noqa: E402
