"""Safe loading and secure start, on real ``modelport serve`` processes: unsigned, tampered,
pickled and altered artifacts are refused (the server keeps serving the rest), and an
exposed server without authentication refuses to start."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from modelport.cli.auth_cmd import app as auth_app
from modelport.config import RegistrySettings
from modelport.registry import Registry
from modelport.security.signing import (
    SIGNATURE_TAG,
    load_signing_key,
    sign_artifact,
)
from tests.serving.server_process import ServerProcess
from tests.serving.test_secure_server import NAP, SIG, nap_body


def register(registry: Registry, home: Path, name: str, key: Path | None) -> None:
    path = home / f"{name}.py"
    path.write_text(NAP.format(name=name))
    info = registry.register(name, path, flavor="python", signature=SIG, registered_by="t")
    if key is not None:
        signature = sign_artifact(load_signing_key(key), name=name, version=info.version,
                                  sha256=info.artifact_sha256)
        registry.set_tags(name, info.version, {SIGNATURE_TAG: signature})


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home: Path = tmp_path_factory.mktemp("signed-home")
    key = home / "sign.pem"
    assert CliRunner().invoke(auth_app, ["signing-key", "create", "--out", str(key)]
                              ).exit_code == 0
    with Registry.open(RegistrySettings(home=home)) as registry:
        register(registry, home, "signed", key)
        register(registry, home, "unsigned", None)
        register(registry, home, "tampered", key)
        register(registry, home, "altered", key)
        # tampered: its record now carries another version's (valid) signature
        stolen = registry.resolve("signed:1").tags[SIGNATURE_TAG]
        registry.set_tags("tampered", 1, {SIGNATURE_TAG: stolen})
        # altered: correctly signed, but its bytes were changed in the store afterwards
        altered = registry.resolve("altered:1")
        Path(altered.artifact_uri.removeprefix("file://")).write_text("raise SystemExit(1)\n")
        pickled = home / "model.pkl"
        pickled.write_bytes(pickle.dumps({"not": "a model"}))
        info = registry.register("pickled", pickled, flavor="sklearn", signature=SIG,
                                 registered_by="t")
        signature = sign_artifact(load_signing_key(key), name="pickled", version=1,
                                  sha256=info.artifact_sha256)
        registry.set_tags("pickled", 1, {SIGNATURE_TAG: signature})
    return home


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(home, ["signed", "unsigned", "tampered", "altered", "pickled",
                                "--require-signed", "--verify-key", str(home / "sign.pub.pem")],
                         workers=1)
    try:
        proc.wait_ready()
        yield proc
    finally:
        assert proc.stop() == 0


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("unsigned", "is not signed and this server requires signed artifacts"),
        ("tampered", "signature does not verify"),
        ("altered", "has changed since it was registered"),
        ("pickled", "pickle"),
    ],
)
def test_unsafe_artifacts_are_refused_and_the_rest_keeps_serving(
    server: ServerProcess, model: str, message: str
) -> None:
    refused = httpx.post(f"{server.url}/v2/models/{model}/infer", json=nap_body(), timeout=30)
    assert refused.status_code == 503 and message in refused.json()["error"]
    ok = httpx.post(f"{server.url}/v2/models/signed/infer", json=nap_body(), timeout=30)
    assert ok.status_code == 200
    assert message.split()[0] in server.log.read_text()  # and a log line says why


def test_an_exposed_server_without_authentication_refuses_to_start(tmp_path: Path) -> None:
    command = ("from modelport.cli.main import main; "
               "raise SystemExit(main(['serve', '--host', '0.0.0.0']))")
    done = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True,
                          env={**os.environ, "MODELPORT_HOME": str(tmp_path)}, timeout=120)
    assert done.returncode == 1
    assert "refusing to serve on 0.0.0.0 without authentication" in done.stderr
    assert "--allow-anonymous" in done.stderr and "Traceback" not in done.stderr


def test_allow_anonymous_starts_an_open_exposed_server(tmp_path: Path) -> None:
    with Registry.open(RegistrySettings(home=tmp_path)) as registry:
        register(registry, tmp_path, "nap", None)
    server = ServerProcess(tmp_path, ["--host", "0.0.0.0", "--allow-anonymous"], workers=1)
    try:
        server.wait_ready()
        assert httpx.post(f"{server.url}/v2/models/nap/infer", json=nap_body(),
                          timeout=30).status_code == 200
        assert "WITHOUT authentication" in server.log.read_text()
        CliRunner().invoke(auth_app, ["keys", "create", "-n", "x", "-r", "viewer"],
                           env={"MODELPORT_HOME": str(tmp_path)})
        deadline = time.monotonic() + 15
        while httpx.post(f"{server.url}/v2/models/nap/infer", json=nap_body(),
                         timeout=30).status_code != 401:
            assert time.monotonic() < deadline, "the first key did not turn authentication on"
            time.sleep(0.5)
    finally:
        assert server.stop() == 0
