"""Where the CLI's registry lives, and read-only commands never creating one."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.config import RegistrySettings, default_home
from tests.cli.conftest import Run

READ_ONLY = [
    ("models", "show", "fraud"),
    ("models", "versions", "fraud"),
    ("deploy", "status", "fraud"),
    ("deploy", "list"),
    ("audit", "list"),
    ("audit", "verify"),
    ("auth", "keys", "list"),
    ("monitor", "drift", "fraud"),
]


@pytest.mark.parametrize("args", READ_ONLY, ids=[" ".join(a[:2]) for a in READ_ONLY])
def test_read_only_commands_never_create_a_registry(run: Run, home: Path,
                                                    args: tuple[str, ...]) -> None:
    code, _, err = run(*args)
    assert code == 1 and err.count("\n") == 1, err
    assert f"no registry at {home / 'registry.db'}" in err and "MODELPORT_HOME" in err
    assert not home.exists()


def test_listing_an_absent_or_empty_registry_names_where_it_looked(
        run: Run, home: Path, tmp_path: Path) -> None:
    code, out, _ = run("models", "list")
    assert code == 0 and f"no models registered yet in {home / 'registry.db'}" in out
    assert "MODELPORT_HOME" in out and not home.exists()
    assert run("models", "list", "--json")[1].strip() == "[]"
    home.mkdir()
    (home / "registry.db").touch()  # present and empty: still named
    code, out, _ = run("models", "list")
    assert code == 0 and f"no models registered yet in {home / 'registry.db'}" in out
    code, _, err = run("models", "show", "fraud")
    assert code == 1 and "the registry is empty" in err
    assert f"(registry: {home / 'registry.db'};" in err.replace("\n", "")


def test_the_default_home_is_the_users_data_folder_unless_dot_modelport_exists(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELPORT_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    assert default_home() == tmp_path / "data" / "modelport"
    assert RegistrySettings().home == tmp_path / "data" / "modelport"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_home() == tmp_path / "user" / ".local" / "share" / "modelport"
    (tmp_path / ".modelport").mkdir()
    assert default_home() == Path(".modelport")
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "elsewhere"))
    assert RegistrySettings().home == tmp_path / "elsewhere"
