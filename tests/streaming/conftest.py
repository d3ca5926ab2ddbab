"""Streaming fixtures: a tiny XGBoost model in a registry, and an isolated Redis key prefix.

Redis comes from the throwaway server ``scripts/services.sh`` starts (it exports
``MODELPORT_TEST_REDIS_URL``); every test gets its own key prefix, deleted afterwards, so
tests can share that server with each other and with other suites.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
import redis.asyncio as aioredis

from modelport.config import RegistrySettings
from modelport.registry import Registry, VersionInfo
from modelport.registry.intake import Registration, register_artifact
from modelport.registry.loader import load_version
from modelport.streaming.scorer import ScoredModel

REDIS_ENV = "MODELPORT_TEST_REDIS_URL"
FEATURES = ["amount", "hour", "age", "risk"]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Streaming tests need a registry, not both database engines: SQLite only."""
    return f"sqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny XGBoost classifier on four features (trained in well under a second)."""
    import xgboost as xgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES))).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 3] > 0).astype(np.float32)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgb.DMatrix(x, label=y, feature_names=FEATURES),
        num_boost_round=5,
    )
    path = tmp_path_factory.mktemp("model") / "model.json"
    booster.save_model(path)
    return path


@pytest.fixture
def version(registry: Registry, model_file: Path) -> VersionInfo:
    """The tiny model registered as ``fraud:1`` with alias ``production``."""
    return register_artifact(
        registry,
        Registration(name="fraud", artifact=model_file, registered_by="tests", alias="production"),
    )


@pytest.fixture
def scored(registry: Registry, version: VersionInfo) -> ScoredModel:
    runtime = load_version(registry, version)
    return ScoredModel(
        name=version.name,
        version=str(version.version),
        signature=version.signature,
        predict=runtime.predict,
    )


@pytest.fixture
def registry_env(registry_settings: RegistrySettings) -> dict[str, str]:
    """Environment variables pointing a subprocess at the test registry."""
    return {
        **os.environ,
        "MODELPORT_HOME": str(registry_settings.home),
        "MODELPORT_DATABASE_URL": str(registry_settings.database_url),
        "MODELPORT_ARTIFACT_ROOT": str(registry_settings.artifact_root),
    }


def _redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.fail(
            f"{REDIS_ENV} is not set, so the Redis streaming tests cannot run. Run the tests "
            'through scripts/test.sh, or first: eval "$(scripts/services.sh start)"',
            pytrace=False,
        )
    return url.rstrip("/")


@pytest.fixture
def redis_url() -> str:
    """The test Redis server, e.g. ``redis://127.0.0.1:56379/0``."""
    return _redis_url()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    name = f"mp-test-{uuid.uuid4().hex[:12]}"
    yield name
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{name}*", count=10_000))
        for start in range(0, len(keys), 5_000):
            client.delete(*keys[start : start + 5_000])
    finally:
        client.close()


@pytest.fixture
async def rclient(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()
