"""Fixtures for the routing tests: a registry holding an endpoint's candidate versions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.config import RegistrySettings
from modelport.registry import Registry

from .models import register_python


@pytest.fixture
def fraud(registry: Registry, tmp_path: Path) -> Registry:
    """``fraud`` versions 1 (good), 2 (good), 3 (raises), 4 (slow), 5 (shifted); SQLite and
    PostgreSQL."""
    for kind in ("good", "good", "error", "slow", "shift"):
        register_python(registry, tmp_path, "fraud", kind)
    return registry


@pytest.fixture
def sqlite_fraud(tmp_path: Path) -> Iterator[Registry]:
    """Like ``fraud``, on SQLite only (for the heavier in-process rollouts)."""
    settings = RegistrySettings(home=tmp_path / "home")
    with Registry.open(settings) as registry:
        for kind in ("good", "good", "error", "slow", "shift"):
            register_python(registry, tmp_path, "fraud", kind)
        yield registry
