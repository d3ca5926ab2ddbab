"""The routing tables: deployments, traffic weights, rollout state and history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the routing work; see registry/tables_routing.py."""


def downgrade() -> None:
    """Reverse of upgrade."""
