"""``modelport serve`` refuses, at start and in one line, references that do not exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import xgboost as xgb

from modelport.config import RegistrySettings
from modelport.errors import NotFound
from modelport.serving.registry_source import RegistrySource
from tests.cli.conftest import Run


@pytest.mark.parametrize(("ref", "says"), [
    ("fruad@production", "did you mean 'fraud'"),
    ("fraud:9", "has no version 9"),
    ("fraud@nosuch", "has no alias 'nosuch'"),
])
def test_unknown_models_versions_and_aliases_fail_at_start(
        run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster], ref: str, says: str) -> None:
    run("models", "register", str(tiny_xgb[0]), "--name", "fraud", "--alias", "production")
    code, out, err = run("serve", "fraud:1", ref, "--port", "0", "--no-grpc", "--workers", "1")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and f"cannot serve {ref}" in err and says in err
    assert "WITHOUT authentication" not in err  # the one line comes first and alone


def test_existing_references_and_deployment_endpoints_pass_the_check(
        run: Run, home: Path, tiny_xgb: tuple[Path, Path, xgb.Booster]) -> None:
    run("models", "register", str(tiny_xgb[0]), "--name", "fraud", "--alias", "production")
    source = RegistrySource.open(RegistrySettings(home=home))
    try:
        source.check(["fraud", "fraud:1", "fraud@production", "fraud@latest"])
        source.check(["checkout"], endpoints={"checkout"})
        with pytest.raises(NotFound, match="cannot serve checkout"):
            source.check(["checkout"])
    finally:
        source.registry.close()


def test_serving_from_a_home_without_a_registry_names_it(run: Run, home: Path) -> None:
    code, _, err = run("serve", "fraud@production", "--port", "0", "--no-grpc")
    assert code == 1 and f"no registry at {home / 'registry.db'}" in err
    assert not home.exists()
