"""``modelport build --context-only`` and the image's boot, without a container engine."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from modelport.cli.main import main
from modelport.config import RegistrySettings
from modelport.errors import IntegrityError, InvalidInput
from modelport.packaging.boot import seed_registry, serve_arguments, verify_artifact
from modelport.packaging.model_settings import ModelSettings, store_path
from modelport.registry import Registry

from .podman import WHEELHOUSE


@pytest.fixture(scope="module")
def context(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out: Path = tmp_path_factory.mktemp("ctx") / "fraud"
    os.environ["MODELPORT_HOME"] = str(home)
    try:
        assert main(["build", "fraud@production", "--context-only", "--context", str(out),
                     "--wheelhouse", str(WHEELHOUSE)]) == 0
    finally:
        del os.environ["MODELPORT_HOME"]
    return out


def test_the_context_pins_every_wheel_and_carries_the_model_by_hash(
    context: Path, home: Path
) -> None:
    containerfile = (context / "Containerfile").read_text()
    assert "USER 10001:10001" in containerfile and "HEALTHCHECK" in containerfile
    assert "--require-hashes --no-deps" in containerfile and "gcc" not in containerfile
    requirements = (context / "wheels" / "requirements.txt").read_text().splitlines()
    assert all("==" in line and "--hash=sha256:" in line for line in requirements)
    names = {line.split("==")[0] for line in requirements}
    assert {"modelport", "xgboost-cpu", "numpy", "grpcio"} <= names
    assert not names & {"onnxruntime", "lightgbm", "scikit-learn"}  # an xgboost model
    wheels = {p.name.split("-")[0].lower().replace("_", "-") for p in
              (context / "wheels").glob("*.whl")}
    assert names <= wheels
    settings = ModelSettings.read(context / "model" / "model-settings.json")
    with Registry.open(RegistrySettings(home=home)) as registry:
        info = registry.resolve("fraud@production")
    assert (settings.name, settings.version, settings.aliases) == ("fraud", 1, ("production",))
    assert settings.artifact_sha256 == info.artifact_sha256
    assert store_path(context / "model" / "store", info.artifact_sha256,
                      settings.artifact_name).is_file()
    labels = json.loads((context / "build.json").read_text())["labels"]
    assert labels["io.modelport.model.sha256"] == info.artifact_sha256
    assert all(p.stat().st_mtime == 0 for p in (context / "model").rglob("*"))


def test_boot_registers_the_same_version_and_refuses_a_changed_artifact(
    context: Path, tmp_path: Path
) -> None:
    settings = ModelSettings.read(context / "model" / "model-settings.json")
    store = context / "model" / "store"
    target = RegistrySettings(home=tmp_path / "run", artifact_root=str(store))
    assert seed_registry(settings, store, target) == "fraud@production"
    assert seed_registry(settings, store, target) == "fraud@production"  # a restart
    with Registry.open(target) as registry:
        info = registry.resolve("fraud@production")
        assert info.version == 1 and info.artifact_sha256 == settings.artifact_sha256
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    artifact = store_path(copy, settings.artifact_sha256, settings.artifact_name)
    artifact.chmod(0o644)
    artifact.write_bytes(artifact.read_bytes() + b" ")
    with pytest.raises(IntegrityError, match="has changed since the image was built"):
        verify_artifact(settings, copy)


def test_boot_arguments() -> None:
    assert serve_arguments([], "fraud@production") == ["fraud@production", "--host", "0.0.0.0"]
    assert serve_arguments(["--workers", "2"], "fraud:1")[:3] == ["fraud:1", "--workers", "2"]
    assert serve_arguments(["fraud@canary", "--host", "::"], "fraud:1") == [
        "fraud@canary", "--host", "::"]
    with pytest.raises(InvalidInput, match="this image serves fraud:1, not 'churn'"):
        serve_arguments(["churn"], "fraud:1")
    assert serve_arguments(["churn@production"], None)[0] == "churn@production"


@pytest.mark.parametrize(("args", "message"), [
    ([], "give a model reference"),
    (["fraud", "--no-model"], "not both"),
    (["fraud", "--flavor", "torchy", "--context-only"], "--flavor torchy is not one of"),
    (["fraud", "--pull", "sometimes"], "--pull must be missing, never or always"),
])
def test_bad_build_options_get_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build", *args]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
