"""The governance tables, on the registry's one ``metadata``.

Created by migration ``migrations/versions/i16_governance.py``; imported by ``tables.py`` so
that migrations and the schema check see them.
"""

from __future__ import annotations

import sqlalchemy as sa

from modelport.registry.tables import UTCDateTime, metadata

__all__ = ["approvals", "evaluations", "metadata", "policies"]

evaluations = sa.Table(
    "governance_evaluations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Index(None, "model", "version"),
)
"""One evaluation of one version: data, metrics, slices, latency, comparison, criteria."""

policies = sa.Table(
    "governance_policies",
    metadata,
    sa.Column("model", sa.String(128), primary_key=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(256), nullable=False),
)
"""A model's promotion policy and acceptance criteria (see ``governance.policy``)."""

approvals = sa.Table(
    "governance_approvals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("approver", sa.String(256), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "model", "version"),
)
"""An approval of one version by an authenticated principal with the approver role."""
