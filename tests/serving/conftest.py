"""Fixtures for the serving tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modelport.serving.source import StaticSource

from .tiny import Scaler


@pytest.fixture
def source() -> StaticSource:
    """``scaler`` versions 1 (x2, alias production) and 2 (x3); ``other`` version 1 (x10)."""
    src = StaticSource()
    src.add("scaler", 1, lambda: Scaler(2.0), aliases=("production",))
    src.add("scaler", 2, lambda: Scaler(3.0))
    src.add("other", 1, lambda: Scaler(10.0))
    return src


@pytest.fixture(scope="session")
def built_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test registry (see ``server_process.build_registry``), built once per session."""
    from .server_process import build_registry

    home: Path = tmp_path_factory.mktemp("registry")
    build_registry(home)
    return home


@pytest.fixture(scope="module")
def home(built_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the test registry for one test module (aliases may move)."""
    copy: Path = tmp_path_factory.mktemp("home") / "home"
    shutil.copytree(built_registry, copy)
    return copy
