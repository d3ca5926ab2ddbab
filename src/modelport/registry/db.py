"""The registry database: engine creation, migrations, transactions, error translation.

SQLite (the default) runs in WAL mode with a busy timeout and foreign keys on; write
transactions start with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing
halfway. PostgreSQL is reached through psycopg 3. Any database that is down, locked or
unreachable surfaces as :class:`~modelport.errors.Unavailable` naming the URL (no password).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine

from modelport.errors import Conflict, InvalidInput, MissingDependency, Unavailable

T = TypeVar("T")

#: Milliseconds an SQLite writer waits for the lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Seconds to wait for a PostgreSQL server to accept a connection.
PG_CONNECT_TIMEOUT_S = 10
_WRITE = "modelport_write"
_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x6D6F64656C  # PostgreSQL advisory-lock key ("model")
_UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock not available


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``, safe for messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def create_engine(url: str) -> Engine:
    """An engine for ``url``, configured for the registry's needs; connects lazily."""
    try:
        parsed = sa.make_url(url)
    except exc.ArgumentError:
        raise InvalidInput(
            f"invalid database URL {redact(url)!r}; expected e.g. sqlite:///path/registry.db "
            "or postgresql+psycopg://user:password@host:5432/dbname"
        ) from None
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except exc.NoSuchModuleError:
        raise InvalidInput(
            f"unsupported database URL {redact(url)!r}; use sqlite:/// or postgresql+psycopg://"
        ) from None
    except ImportError as err:
        raise MissingDependency(
            f"the database driver for {redact(url)!r} is not installed ({err}); "
            "modelport supports sqlite:/// and postgresql+psycopg://"
        ) from None
    _guard_against_fork(engine)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _guard_against_fork(engine: Engine) -> None:
    """A forked worker never reuses its parent's connections: it opens its own."""

    @event.listens_for(engine, "connect")
    def _remember_pid(_dbapi_conn: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _refuse_foreign(_dbapi_conn: Any, record: Any, proxy: Any) -> None:
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise exc.DisconnectionError("connection was opened by another process")


def _configure_sqlite(engine: Engine) -> None:
    """WAL, busy timeout, foreign keys; and real BEGINs (pysqlite's own are unreliable)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def open_engine(url: str) -> Engine:
    """An engine with the schema migrated to the newest version; Unavailable if unreachable."""
    engine = create_engine(url)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def migrate(engine: Engine) -> None:
    """Upgrade the schema to head; safe to run from many processes at once."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, "head")
        except CommandError as err:
            head = ScriptDirectory.from_config(config).get_current_head()
            raise Conflict(
                f"registry database {redact(str(engine.url))} has a schema this modelport does "
                f"not know ({err}); this version's newest schema is {head}. "
                "Upgrade modelport, or point MODELPORT_DATABASE_URL at another database."
            ) from None


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Connection]:
    """One transaction; ``write=True`` takes SQLite's write lock up front.

    Connection and lock failures become Unavailable; everything else propagates unchanged.
    """
    try:
        with _raw_transaction(engine, write=write) as conn:
            yield conn
    except _UNAVAILABLE as err:
        raise unavailable(engine, err) from err


@contextmanager
def _raw_transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    with engine.connect() as conn:
        if write:
            conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


def run_write(
    engine: Engine,
    work: Callable[[Connection], T],
    *,
    attempts: int = 8,
    retry_integrity: bool = False,
) -> T:
    """Run ``work`` in a write transaction, retrying lock conflicts with jittered backoff.

    ``retry_integrity`` also retries unique violations, for inserts that race each other
    (two processes creating the same model). The whole transaction is redone each time.
    """
    for attempt in range(1, attempts + 1):
        try:
            with _raw_transaction(engine, write=True) as conn:
                return work(conn)
        except exc.IntegrityError:
            if not retry_integrity or attempt == attempts:
                raise
        except _UNAVAILABLE as err:
            transient = isinstance(err, exc.DBAPIError) and is_transient(err)
            if not transient or attempt == attempts:
                raise unavailable(engine, err) from err
        time.sleep(random.uniform(0.005, 0.02) * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def is_transient(err: exc.DBAPIError) -> bool:
    """Whether retrying the transaction may succeed (lock contention, deadlock)."""
    sqlstate = getattr(err.orig, "sqlstate", None)
    if sqlstate in _TRANSIENT_SQLSTATES:
        return True
    text = str(err.orig).lower()
    return "database is locked" in text or "database table is locked" in text


def unavailable(target: Engine | str, err: BaseException) -> Unavailable:
    """Unavailable naming the database (password hidden) and the driver's first line."""
    url = target if isinstance(target, str) else target.url.render_as_string(hide_password=True)
    cause = getattr(err, "orig", None) or err
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return Unavailable(
        f"registry database {redact(url)} is unavailable: {first}",
        details={"url": redact(url)},
    )
