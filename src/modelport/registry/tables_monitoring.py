"""The monitoring tables, on the registry's one ``metadata``.

Created by migration ``migrations/versions/0004_monitoring.py``; imported by ``tables.py``
so that migrations and the schema check see them.
"""

from __future__ import annotations

import sqlalchemy as sa

from modelport.registry.tables import UTCDateTime, metadata

__all__ = ["contracts", "events", "feedback", "leases", "metadata"]

contracts = sa.Table(
    "monitor_contracts",
    metadata,
    sa.Column("model", sa.String(128), primary_key=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(256), nullable=False),
)
"""One data contract per model name (the rules as JSON), derived or edited."""

feedback = sa.Table(
    "monitor_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("request_id", sa.String(256), nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("prediction", sa.Text),
    sa.Column("score", sa.Float),
    sa.Column("served_at", UTCDateTime),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("model", "request_id", "row"),
    sa.Index(None, "model", "received_at"),
)
"""Ground truth by request id, with the version that answered and what it predicted (JSON
text in ``label`` and ``prediction``; ``score`` is the positive-class probability)."""

events = sa.Table(
    "monitor_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("version", sa.String(32)),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("details", sa.JSON),
    sa.Index(None, "model", "at"),
)
"""What monitoring noticed: drift, degraded performance, retraining requested."""

leases = sa.Table(
    "monitor_leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)
"""Leader election: the one worker (of all replicas) holding a lease runs scheduled checks."""
