"""``registry backup``: a consistent copy of a SQLite registry in use, WAL included."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from modelport.cli.main import main
from modelport.config import RegistrySettings
from modelport.errors import Conflict, InvalidInput, NotFound
from modelport.protocol.signature import Signature
from modelport.registry import Registry
from modelport.registry.backup import backup_database


def versions_in(path: Path) -> int:
    """Version rows in a database file; 0 when even the table is missing from it."""
    with sqlite3.connect(path) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM model_versions").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def test_backup_copies_commits_still_in_the_wal(tmp_path: Path, artifact: Path,
                                                signature: Signature) -> None:
    settings = RegistrySettings(home=tmp_path / "home")
    with Registry.open(settings) as registry:  # stays open: no checkpoint moves the WAL
        for name in ("fraud", "fraud", "churn"):
            registry.register(name, artifact, flavor="xgboost", signature=signature,
                              registered_by="alice")
        naive = tmp_path / "cp-copy.db"
        shutil.copyfile(settings.home / "registry.db", naive)  # what `cp` does
        result = backup_database(settings, tmp_path / "backup.db")
        assert (result.models, result.versions) == (2, 3)
    assert versions_in(naive) < 3  # the rows in registry.db-wal are missing from a plain copy
    assert versions_in(tmp_path / "backup.db") == 3
    restored = RegistrySettings(home=tmp_path / "restored")
    restored.home.mkdir()
    shutil.copyfile(tmp_path / "backup.db", restored.home / "registry.db")
    with Registry.open(RegistrySettings(home=restored.home,
                                        artifact_root=settings.resolved_artifact_root())) as copy:
        assert [m.name for m in copy.list_models()] == ["churn", "fraud"]
        assert copy.resolve("fraud").version == 2


def test_refusals_are_clear(tmp_path: Path, artifact: Path, signature: Signature) -> None:
    settings = RegistrySettings(home=tmp_path / "home")
    with pytest.raises(NotFound, match="no registry at"):
        backup_database(settings, tmp_path / "b.db")
    with Registry.open(settings) as registry:
        registry.register("m", artifact, flavor="xgboost", signature=signature,
                          registered_by="alice")
    (tmp_path / "b.db").write_text("old")
    with pytest.raises(Conflict, match="--force"):
        backup_database(settings, tmp_path / "b.db")
    assert backup_database(settings, tmp_path / "b.db", overwrite=True).versions == 1
    with pytest.raises(InvalidInput, match="is the registry itself"):
        backup_database(settings, settings.home / "registry.db", overwrite=True)
    with pytest.raises(InvalidInput, match="does not exist"):
        backup_database(settings, tmp_path / "nowhere" / "b.db")
    pg = RegistrySettings(database_url="postgresql+psycopg://u:secret@db/registry",
                          artifact_root="s3://bucket/mp")
    with pytest.raises(InvalidInput, match="pg_dump --format=custom") as caught:
        backup_database(pg, tmp_path / "pg.db")
    assert "secret" not in caught.value.message and "s3://bucket/mp" in caught.value.message


def test_the_cli_command(tmp_path: Path, artifact: Path, signature: Signature,
                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                         ) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MODELPORT_HOME", str(home))
    monkeypatch.delenv("MODELPORT_DATABASE_URL", raising=False)
    with Registry.open(RegistrySettings(home=home)) as registry:
        registry.register("m", artifact, flavor="xgboost", signature=signature,
                          registered_by="alice")
    assert main(["registry", "backup", str(tmp_path / "b.db")]) == 0
    out = capsys.readouterr().out
    assert "backed up" in out and "1 version(s)" in out and "artifacts are in" in out
    assert main(["registry", "backup", str(tmp_path / "b.db")]) == 1
    assert "--force" in capsys.readouterr().err
