"""Shared database fixtures: every registry-backed test runs on SQLite and on PostgreSQL.

PostgreSQL comes from the throwaway server that ``scripts/test.sh`` starts (through
``scripts/services.sh``), which exports ``MODELPORT_TEST_PG_URL``. Each test gets a database
of its own, created with a random name and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

from modelport.config import RegistrySettings
from modelport.registry import Registry

PG_ENV = "MODELPORT_TEST_PG_URL"


def _pg_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.fail(
            f"{PG_ENV} is not set, so the PostgreSQL variant of this test cannot run. Run the "
            'tests through scripts/test.sh, or first: eval "$(scripts/services.sh start)"',
            pytrace=False,
        )
    return url


@pytest.fixture
def pg_admin_url() -> str:
    """URL of the test PostgreSQL server's admin database (fails the test when unset)."""
    return _pg_admin_url()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLAlchemy URL of a fresh, empty database (SQLite file or PostgreSQL database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    admin = sa.make_url(_pg_admin_url())
    name = f"mp_test_{uuid.uuid4().hex[:16]}"
    libpq = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


@pytest.fixture
def registry_settings(database_url: str, tmp_path: Path) -> RegistrySettings:
    """Settings pointing at the fresh database and a private artifact folder."""
    return RegistrySettings(
        home=tmp_path / "home",
        database_url=database_url,
        artifact_root=str(tmp_path / "artifacts"),
    )


@pytest.fixture
def registry(registry_settings: RegistrySettings) -> Iterator[Registry]:
    """An open registry on a fresh database, closed after the test."""
    with Registry.open(registry_settings) as opened:
        yield opened
