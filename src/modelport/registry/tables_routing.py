"""The routing tables, on the registry's one ``metadata``.

Created by migration ``migrations/versions/0003_routing.py``; imported by ``tables.py``
so that migrations and the schema check see them.

Deployments and their history are the control plane; ``routing_revision`` is one counter that
every deployment change bumps, so each worker learns of a change with one cheap read. Stats
rows are what workers measure per interval; the rollout controller reads them back.
"""

from __future__ import annotations

import sqlalchemy as sa

from modelport.registry.tables import UTCDateTime, metadata

__all__ = [
    "ab_assignments",
    "ab_outcomes",
    "deployment_events",
    "deployment_gates",
    "deployments",
    "metadata",
    "routing_leases",
    "routing_revision",
    "routing_stats",
    "routing_workers",
    "shadow_stats",
]


def _deployment_fk() -> sa.Column[int]:
    return sa.Column(
        "deployment_id",
        sa.Integer,
        sa.ForeignKey("deployments.id", ondelete="CASCADE"),
        nullable=False,
    )


routing_revision = sa.Table(
    "routing_revision",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)
"""One row (id 1): bumped by every deployment change; workers poll it."""

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
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
    sa.Column("step_started_at", UTCDateTime, nullable=False),
    sa.Column("effective_at", UTCDateTime, nullable=False),
    sa.Column("switch_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("reason", sa.Text),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "endpoint", "id"),
    sa.Index(None, "status"),
)
"""One row per applied deployment file; the newest row of an endpoint is its route.
``weights`` is the current split (a JSON list of model, version, weight, role)."""

deployment_events = sa.Table(
    "deployment_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _deployment_fk(),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("data", sa.JSON),
    sa.Index(None, "deployment_id", "id"),
)
"""Every change of a deployment: who, when, what and why."""

deployment_gates = sa.Table(
    "deployment_gates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _deployment_fk(),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("readings", sa.JSON, nullable=False),
    sa.Index(None, "deployment_id", "id"),
)
"""Each analysis of a canary interval: pass, fail or wait, with every reading."""

routing_stats = sa.Table(
    "routing_stats",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _deployment_fk(),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("worker", sa.String(128), nullable=False),
    sa.Column("window_start", UTCDateTime, nullable=False),
    sa.Column("window_end", UTCDateTime, nullable=False),
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("errors", sa.Integer, nullable=False),
    sa.Column("latency", sa.JSON, nullable=False),
    sa.Column("predictions", sa.JSON, nullable=False),
    sa.Index(None, "deployment_id", "step"),
)
"""What one worker saw of one version during one flush window."""

shadow_stats = sa.Table(
    "shadow_stats",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _deployment_fk(),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("worker", sa.String(128), nullable=False),
    sa.Column("window_start", UTCDateTime, nullable=False),
    sa.Column("window_end", UTCDateTime, nullable=False),
    sa.Column("mirrored", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("timed_out", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False),
    sa.Column("compared", sa.Integer, nullable=False),
    sa.Column("agreed", sa.Integer, nullable=False),
    sa.Column("diff_sum", sa.Float, nullable=False),
    sa.Column("latency_sum_ms", sa.Float, nullable=False),
    sa.Column("primary_latency_sum_ms", sa.Float, nullable=False),
    sa.Index(None, "deployment_id"),
)
"""Mirrored requests to one shadow version, compared with the primary's answers."""

routing_workers = sa.Table(
    "routing_workers",
    metadata,
    sa.Column("worker", sa.String(128), primary_key=True),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("loaded", sa.JSON, nullable=False),
    sa.Column("failed", sa.JSON, nullable=False),
)
"""Each live worker: which routing revision it applied, which versions it has ready."""

routing_leases = sa.Table(
    "routing_leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)
"""Leader election: the rollout controller acts only while it holds its lease."""

ab_assignments = sa.Table(
    "ab_assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _deployment_fk(),
    sa.Column("request_id", sa.String(256), nullable=False),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("arm", sa.String(16), nullable=False),
    sa.Column("prediction", sa.Text),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index(None, "deployment_id", "request_id"),
)
"""Which A/B arm answered each request id (and its first predicted value)."""

ab_outcomes = sa.Table(
    "ab_outcomes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("endpoint", sa.String(128), nullable=False),
    sa.Column("request_id", sa.String(256), nullable=False),
    sa.Column("conversion", sa.Boolean),
    sa.Column("value", sa.Float),
    sa.Column("label", sa.Text),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index(None, "endpoint", "request_id"),
)
"""Outcomes reported through the feedback call, keyed by endpoint and request id."""
