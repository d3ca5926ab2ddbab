from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from modelport.config import RegistrySettings
from modelport.errors import Conflict, InvalidInput, Unavailable
from modelport.registry import Registry, db
from modelport.registry.tables import metadata

TABLES = {"models", "model_versions", "aliases", "alias_events", "tags", "metrics", "params"}


def _script_head() -> str:
    """The newest revision of the migration scripts (ids are not ordered by name)."""

    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_migrations_create_the_schema(database_url: str) -> None:
    engine = db.open_engine(database_url)
    try:
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names()) >= TABLES
        columns = {c["name"] for c in inspector.get_columns("model_versions")}
        assert {"artifact_sha256", "signature", "trust_pickle", "reference_uri"} <= columns
        with engine.connect() as conn:
            head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        assert head == _script_head()
    finally:
        engine.dispose()


def test_tables_module_matches_the_migrations(database_url: str) -> None:
    engine = db.open_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_migrating_twice_is_harmless(database_url: str) -> None:
    engine = db.open_engine(database_url)
    try:
        db.migrate(engine)
        assert set(sa.inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = db.open_engine(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        with db.transaction(engine) as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        engine.dispose()


def test_default_database_lives_in_modelport_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Registry.open(RegistrySettings(home=home)) as registry:
        assert registry.list_models() == []
    assert (home / "registry.db").is_file()
    tables = sqlite3.connect(home / "registry.db").execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    assert {name for (name,) in tables} >= TABLES


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://alice:s3cret@127.0.0.1:1/registry", "127.0.0.1:1/registry"),
        ("sqlite:////nonexistent/folder/registry.db", "/nonexistent/folder/registry.db"),
    ],
)
def test_dead_database_is_unavailable_with_a_one_line_message(url: str, shown: str) -> None:
    with pytest.raises(Unavailable) as info:
        db.open_engine(url)
    message = str(info.value)
    assert shown in message
    assert "s3cret" not in message
    assert "\n" not in message
    assert message.startswith("registry database ")


@pytest.mark.postgres
def test_missing_postgres_database_is_unavailable(pg_admin_url: str, tmp_path: Path) -> None:
    url = sa.make_url(pg_admin_url).set(database="no_such_db_x")
    settings = RegistrySettings(home=tmp_path, database_url=url.render_as_string(False))
    with pytest.raises(Unavailable, match='"no_such_db_x" does not exist'):
        Registry.open(settings)


def test_locked_sqlite_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    db.open_engine(f"sqlite:///{path}").dispose()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # hold the write lock
    engine = db.create_engine(f"sqlite:///{path}?timeout=0")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout = 50")
        with pytest.raises(Unavailable, match="locked"):
            db.run_write(engine, lambda conn: conn.exec_driver_sql("DELETE FROM tags"), attempts=2)
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()


@pytest.mark.parametrize("url", ["not a url", "mysql+nosuchdriver://x/y", "nosuchdb://x/y"])
def test_malformed_or_unsupported_url_is_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInput, match="database URL"):
        db.create_engine(url)


def test_redact_hides_passwords() -> None:
    assert db.redact("postgresql+psycopg://bob:pw@h/db") == "postgresql+psycopg://bob:***@h/db"
    assert db.redact("sqlite:///x.db") == "sqlite:///x.db"


def test_schema_newer_than_the_code_is_a_clear_conflict(database_url: str) -> None:
    db.open_engine(database_url).dispose()
    engine = db.create_engine(database_url)
    try:
        with db.transaction(engine, write=True) as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(Conflict, match="Upgrade modelport") as info:
            db.migrate(engine)
        assert "'9999'" in str(info.value) and _script_head() in str(info.value)
    finally:
        engine.dispose()
