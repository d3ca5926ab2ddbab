"""Fixtures for the security tests: a migrated registry database on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from modelport.registry import db


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    opened = db.open_engine(database_url)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database only, for tests whose logic does not depend on the engine."""
    opened = db.open_engine(f"sqlite:///{tmp_path / 'lite.db'}")
    try:
        yield opened
    finally:
        opened.dispose()
