"""A consistent copy of the registry database while it is in use.

SQLite runs in WAL mode: recent commits may live only in ``registry.db-wal`` until a
checkpoint, so copying ``registry.db`` alone silently loses them. SQLite's online backup API
copies every committed page, WAL included, while servers keep writing. PostgreSQL has its own
tool, ``pg_dump``; :func:`backup_database` says how to use it rather than imitate it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from modelport.config import RegistrySettings
from modelport.errors import Conflict, InvalidInput, NotFound

__all__ = ["BackupResult", "backup_database"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupResult:
    """What a backup wrote."""

    source: Path
    target: Path
    size_bytes: int
    models: int
    versions: int


def backup_database(settings: RegistrySettings, target: Path, *, overwrite: bool = False
                    ) -> BackupResult:
    """Copy the SQLite registry to ``target`` with the online backup API and check the copy.

    PostgreSQL registries are refused with the ``pg_dump`` command to run instead.
    """
    source = settings.sqlite_path()
    if source is None:
        url = settings.location()
        raise InvalidInput(
            f"the registry is not SQLite ({url}); back up PostgreSQL with its own tool, e.g. "
            f"pg_dump --format=custom --file registry.dump 'postgresql://USER@HOST/DB' "
            f"(restore with pg_restore), and copy the artifact store "
            f"({settings.resolved_artifact_root()}) as well"
        )
    if not source.exists():
        raise NotFound(f"no registry at {source.resolve()}: nothing to back up; set "
                       f"MODELPORT_HOME or MODELPORT_DATABASE_URL to the registry to copy")
    target = target.expanduser()
    if target.resolve() == source.resolve():
        raise InvalidInput(f"{target} is the registry itself; give another file")
    if target.exists() and not overwrite:
        raise Conflict(f"{target} already exists; pass --force to overwrite it")
    if not target.parent.is_dir():
        raise InvalidInput(f"cannot write {target}: folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            models = int(dst.execute("SELECT count(*) FROM models").fetchone()[0])
            versions = int(dst.execute("SELECT count(*) FROM model_versions").fetchone()[0])
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"cannot back up {source} to {target}: {exc}") from None
    finally:
        src.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise Conflict(f"the copy of {source} failed its integrity check: {check}")
    partial.replace(target)
    return BackupResult(source=source.resolve(), target=target.resolve(),
                        size_bytes=target.stat().st_size, models=models, versions=versions)
