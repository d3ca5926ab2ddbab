"""The edge tables: staged OTA rollouts and device heartbeats.

Revision ID: i15_edge
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i15_edge"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "edge_rollouts",
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("target_version", sa.Integer, nullable=False),
        sa.Column("percent", sa.Float, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("model", "alias", name="pk_edge_rollouts"),
    )
    op.create_table(
        "edge_devices",
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("alias", sa.String(64)),
        sa.Column("version", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("stats", sa.JSON),
        sa.Column("first_seen", _TS, nullable=False),
        sa.Column("last_seen", _TS, nullable=False),
        sa.PrimaryKeyConstraint("model", "device_id", name="pk_edge_devices"),
    )


def downgrade() -> None:
    op.drop_table("edge_devices")
    op.drop_table("edge_rollouts")
