"""The security tables: API keys and the hash-chained audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the security work; see registry/tables_security.py."""


def downgrade() -> None:
    """Reverse of upgrade."""
