"""The routing tables: deployments, traffic weights, rollout state and history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _deployment_fk(table: str) -> tuple[sa.Column[int], sa.ForeignKeyConstraint]:
    return (
        sa.Column("deployment_id", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=f"fk_{table}_deployment_id_deployments",
            ondelete="CASCADE",
        ),
    )


def upgrade() -> None:
    op.create_table(
        "routing_revision",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_routing_revision"),
    )
    op.execute(sa.text("INSERT INTO routing_revision (id, revision) VALUES (1, 0)"))
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("stable_model", sa.String(128), nullable=False),
        sa.Column("stable_version", sa.Integer, nullable=False),
        sa.Column("candidate_model", sa.String(128), nullable=False),
        sa.Column("candidate_version", sa.Integer, nullable=False),
        sa.Column("weights", sa.JSON, nullable=False),
        sa.Column("shadows", sa.JSON, nullable=False),
        sa.Column("step", sa.Integer, nullable=False, server_default="0"),
        sa.Column("step_started_at", _TS, nullable=False),
        sa.Column("effective_at", _TS, nullable=False),
        sa.Column("switch_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("reason", sa.Text),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deployments"),
    )
    op.create_index("ix_deployments_endpoint_id", "deployments", ["endpoint", "id"])
    op.create_index("ix_deployments_status", "deployments", ["status"])
    op.create_table(
        "deployment_events",
        sa.Column("id", sa.Integer, nullable=False),
        *_deployment_fk("deployment_events"),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("data", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_deployment_events"),
    )
    op.create_index(
        "ix_deployment_events_deployment_id_id", "deployment_events", ["deployment_id", "id"]
    )
    op.create_table(
        "deployment_gates",
        sa.Column("id", sa.Integer, nullable=False),
        *_deployment_fk("deployment_gates"),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("readings", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deployment_gates"),
    )
    op.create_index(
        "ix_deployment_gates_deployment_id_id", "deployment_gates", ["deployment_id", "id"]
    )
    op.create_table(
        "routing_stats",
        sa.Column("id", sa.Integer, nullable=False),
        *_deployment_fk("routing_stats"),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("worker", sa.String(128), nullable=False),
        sa.Column("window_start", _TS, nullable=False),
        sa.Column("window_end", _TS, nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("latency", sa.JSON, nullable=False),
        sa.Column("predictions", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_routing_stats"),
    )
    op.create_index(
        "ix_routing_stats_deployment_id_step", "routing_stats", ["deployment_id", "step"]
    )
    op.create_table(
        "shadow_stats",
        sa.Column("id", sa.Integer, nullable=False),
        *_deployment_fk("shadow_stats"),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(128), nullable=False),
        sa.Column("window_start", _TS, nullable=False),
        sa.Column("window_end", _TS, nullable=False),
        sa.Column("mirrored", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("timed_out", sa.Integer, nullable=False),
        sa.Column("skipped", sa.Integer, nullable=False),
        sa.Column("compared", sa.Integer, nullable=False),
        sa.Column("agreed", sa.Integer, nullable=False),
        sa.Column("diff_sum", sa.Float, nullable=False),
        sa.Column("latency_sum_ms", sa.Float, nullable=False),
        sa.Column("primary_latency_sum_ms", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shadow_stats"),
    )
    op.create_index("ix_shadow_stats_deployment_id", "shadow_stats", ["deployment_id"])
    op.create_table(
        "routing_workers",
        sa.Column("worker", sa.String(128), nullable=False),
        sa.Column("heartbeat_at", _TS, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("loaded", sa.JSON, nullable=False),
        sa.Column("failed", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("worker", name="pk_routing_workers"),
    )
    op.create_table(
        "routing_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_routing_leases"),
    )
    op.create_table(
        "ab_assignments",
        sa.Column("id", sa.Integer, nullable=False),
        *_deployment_fk("ab_assignments"),
        sa.Column("request_id", sa.String(256), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(16), nullable=False),
        sa.Column("prediction", sa.Text),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ab_assignments"),
    )
    op.create_index(
        "ix_ab_assignments_deployment_id_request_id",
        "ab_assignments",
        ["deployment_id", "request_id"],
    )
    op.create_table(
        "ab_outcomes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(256), nullable=False),
        sa.Column("conversion", sa.Boolean),
        sa.Column("value", sa.Float),
        sa.Column("label", sa.Text),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ab_outcomes"),
    )
    op.create_index(
        "ix_ab_outcomes_endpoint_request_id", "ab_outcomes", ["endpoint", "request_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_ab_outcomes_endpoint_request_id", "ab_outcomes")
    op.drop_table("ab_outcomes")
    op.drop_index("ix_ab_assignments_deployment_id_request_id", "ab_assignments")
    op.drop_table("ab_assignments")
    op.drop_table("routing_leases")
    op.drop_table("routing_workers")
    op.drop_index("ix_shadow_stats_deployment_id", "shadow_stats")
    op.drop_table("shadow_stats")
    op.drop_index("ix_routing_stats_deployment_id_step", "routing_stats")
    op.drop_table("routing_stats")
    op.drop_index("ix_deployment_gates_deployment_id_id", "deployment_gates")
    op.drop_table("deployment_gates")
    op.drop_index("ix_deployment_events_deployment_id_id", "deployment_events")
    op.drop_table("deployment_events")
    op.drop_index("ix_deployments_status", "deployments")
    op.drop_index("ix_deployments_endpoint_id", "deployments")
    op.drop_table("deployments")
    op.drop_table("routing_revision")
