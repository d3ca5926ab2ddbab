"""Fixtures shared by the container tests: the test registry and the images they build."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..serving.server_process import build_registry
from .podman import SERVER, build_image, environment, unavailable


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path: Path = tmp_path_factory.mktemp("image") / "home"
    build_registry(path)
    return path


@pytest.fixture(scope="session")
def podman_env() -> Iterator[None]:
    """The CLI's own podman calls use the cached store and settings; skips (saying why)
    where podman itself cannot run."""
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in environment().items() if k not in saved or
                       k.startswith(("CONTAINERS_", "TMPDIR", "MODELPORT_PODMAN"))})
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def server_image(home: Path, podman_env: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    # xgboost alone, like the fraud image: podman reuses its installed layer
    build_image(home, tmp_path_factory.mktemp("ctx") / "server", "--no-model",
                "--flavor", "xgboost", "--tag", SERVER)
    return SERVER


