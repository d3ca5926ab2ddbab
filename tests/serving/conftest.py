"""Fixtures for the serving tests."""

from __future__ import annotations

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
