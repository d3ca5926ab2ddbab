"""Pipeline fixtures: the test registry is built once per session and copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modelport.cli.main import main
from modelport.config import RegistrySettings
from modelport.registry import Registry

from .registry_setup import build


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home: Path = tmp_path_factory.mktemp("pipelines") / "home"
    home.mkdir()
    build(home)
    return home


@pytest.fixture
def home(built_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the registry, named by MODELPORT_HOME for the CLI."""
    copy = tmp_path / "home"
    shutil.copytree(built_home, copy)
    monkeypatch.setenv("MODELPORT_HOME", str(copy))
    monkeypatch.delenv("MODELPORT_DATABASE_URL", raising=False)
    monkeypatch.delenv("MODELPORT_ARTIFACT_ROOT", raising=False)
    monkeypatch.setenv("MODELPORT_USER", "alice")
    return copy


@pytest.fixture
def registry(home: Path) -> Iterator[Registry]:
    with Registry.open(RegistrySettings(home=home)) as reg:
        yield reg


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], home: Path) -> Run:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return _run
