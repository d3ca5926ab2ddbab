"""The edge tables: staged OTA rollouts and the device fleet, on the registry's ``metadata``.

Created by migration ``migrations/versions/i15_edge.py``; imported by ``tables.py`` so that
migrations and the schema check see them.
"""

from __future__ import annotations

import sqlalchemy as sa

from modelport.registry.tables import UTCDateTime, metadata

__all__ = ["edge_devices", "edge_rollouts"]

edge_rollouts = sa.Table(
    "edge_rollouts",
    metadata,
    sa.Column("model", sa.String(128), primary_key=True),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("target_version", sa.Integer, nullable=False),
    sa.Column("percent", sa.Float, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(256), nullable=False),
)
"""A staged update: devices whose id hashes below ``percent`` get ``target_version`` instead
of the alias's version, until the rollout is widened to 100% (the alias moves) or aborted."""

edge_devices = sa.Table(
    "edge_devices",
    metadata,
    sa.Column("model", sa.String(128), primary_key=True),
    sa.Column("device_id", sa.String(128), primary_key=True),
    sa.Column("alias", sa.String(64)),
    sa.Column("version", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("stats", sa.JSON),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
)
"""The last heartbeat of each device: the version it runs, its last error, local stats."""
