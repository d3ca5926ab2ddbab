"""RegistrySource: references resolve through the registry, versions load hash-checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelport.config import RegistrySettings
from modelport.errors import NotFound
from modelport.registry import ModelRef
from modelport.serving.registry_source import RegistrySource

from .server_process import FEATURES, set_alias


def test_resolves_aliases_and_loads_versions(home: Path) -> None:
    source = RegistrySource.open(RegistrySettings(home=home))
    assert source.names() == ["fraud", "slow"]
    resolved = source.resolve(ModelRef("fraud", alias="production"))
    assert (resolved.name, resolved.version, resolved.platform) == ("fraud", "1", "xgboost")
    assert resolved.signature is not None and resolved.signature.input_names == FEATURES
    runtime = source.load(resolved)
    out = runtime.predict({f: np.zeros(2, dtype=np.float32) for f in FEATURES})
    assert out["predict_proba"].shape == (2, 2)
    set_alias(home, 2)
    try:
        assert source.resolve(ModelRef("fraud", alias="production")).version == "2"
    finally:
        set_alias(home, 1)
    assert source.resolve(ModelRef("fraud")).version == "2"  # latest


def test_unknown_models_are_not_found(home: Path) -> None:
    source = RegistrySource.open(RegistrySettings(home=home))
    with pytest.raises(NotFound):
        source.resolve(ModelRef("ghost"))
    with pytest.raises(NotFound):
        source.resolve(ModelRef("fraud", version=9))
