"""Fixtures of the batch tests: a tiny fraud model in a throwaway registry.

Batch scoring reads the registry once per run and never exercises the database itself, so
these tests use SQLite only (the registry's own tests cover PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.config import RegistrySettings
from modelport.registry import Registry, VersionInfo
from modelport.registry.intake import Registration, register_artifact

from .helpers import FEATURES, SCORER, make_transactions


@pytest.fixture(scope="session")
def fraud_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small XGBoost fraud model (a few shallow trees: trains in well under a second)."""
    import xgboost as xgb

    table = make_transactions(4000, seed=3)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgb.DMatrix(table[FEATURES], label=table["is_fraud"], feature_names=FEATURES),
        num_boost_round=8,
    )
    path = tmp_path_factory.mktemp("fraud") / "model.json"
    booster.save_model(path)
    return path


@pytest.fixture
def batch_settings(tmp_path: Path) -> RegistrySettings:
    return RegistrySettings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'registry.db'}",
        artifact_root=str(tmp_path / "artifacts"),
    )


@pytest.fixture
def batch_registry(batch_settings: RegistrySettings) -> Iterator[Registry]:
    with Registry.open(batch_settings) as registry:
        yield registry


@pytest.fixture
def fraud(batch_registry: Registry, fraud_model_file: Path) -> VersionInfo:
    """The fraud model, registered as ``fraud`` with alias ``production``."""
    return register_artifact(
        batch_registry,
        Registration(
            name="fraud", artifact=fraud_model_file, registered_by="test", alias="production"
        ),
    )


@pytest.fixture
def scorer(batch_registry: Registry, tmp_path: Path) -> VersionInfo:
    """A plain-Python model with a contract (amount >= 0) and 1-, 3- and 100-wide outputs."""
    path = tmp_path / "scorer.py"
    path.write_text(SCORER)
    return register_artifact(
        batch_registry, Registration(name="scorer", artifact=path, registered_by="test")
    )
