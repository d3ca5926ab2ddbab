"""Monitoring fixtures. SQL-heavy tests use the shared ``registry`` fixture (SQLite and
PostgreSQL); the rest use ``local_registry``, SQLite only, to keep the suite quick."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.config import RegistrySettings
from modelport.registry import Registry


@pytest.fixture
def local_registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry.open(RegistrySettings(home=tmp_path / "home")) as opened:
        yield opened
