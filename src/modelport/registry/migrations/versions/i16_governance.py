"""The governance tables: evaluations, promotion policies, approvals.

Revision ID: i16_governance
Revises: i15_edge
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i16_governance"
down_revision = "i15_edge"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "governance_evaluations",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_governance_evaluations"),
    )
    op.create_index("ix_governance_evaluations_model_version", "governance_evaluations",
                    ["model", "version"])
    op.create_table(
        "governance_policies",
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("model", name="pk_governance_policies"),
    )
    op.create_table(
        "governance_approvals",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("approver", sa.String(256), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_governance_approvals"),
    )
    op.create_index("ix_governance_approvals_model_version", "governance_approvals",
                    ["model", "version"])


def downgrade() -> None:
    op.drop_table("governance_approvals")
    op.drop_table("governance_policies")
    op.drop_table("governance_evaluations")
