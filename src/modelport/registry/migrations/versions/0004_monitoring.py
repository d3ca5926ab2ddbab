"""The monitoring tables: data contracts, feedback, monitoring events, scheduler leases.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitor_contracts",
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("model", name="pk_monitor_contracts"),
    )
    op.create_table(
        "monitor_feedback",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(256), nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("prediction", sa.Text),
        sa.Column("score", sa.Float),
        sa.Column("served_at", _TS),
        sa.Column("received_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_feedback"),
        sa.UniqueConstraint(
            "model", "request_id", "row", name="uq_monitor_feedback_model_request_id_row"
        ),
    )
    op.create_index(
        "ix_monitor_feedback_model_received_at", "monitor_feedback", ["model", "received_at"]
    )
    op.create_table(
        "monitor_events",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("version", sa.String(32)),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("details", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_events"),
    )
    op.create_index("ix_monitor_events_model_at", "monitor_events", ["model", "at"])
    op.create_table(
        "monitor_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_monitor_leases"),
    )


def downgrade() -> None:
    op.drop_table("monitor_leases")
    op.drop_index("ix_monitor_events_model_at", "monitor_events")
    op.drop_table("monitor_events")
    op.drop_index("ix_monitor_feedback_model_received_at", "monitor_feedback")
    op.drop_table("monitor_feedback")
    op.drop_table("monitor_contracts")
