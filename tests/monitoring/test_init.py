"""The package's public names all resolve, lazily."""

from __future__ import annotations

import pytest

import modelport.monitoring as monitoring


def test_every_public_name_resolves() -> None:
    assert len(monitoring.__all__) > 30
    for name in monitoring.__all__:
        assert getattr(monitoring, name).__name__ == name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        monitoring.nope  # noqa: B018
