"""``modelport build`` for real: podman builds the images offline, runs them read-only as
non-root, and independent clients (tritonclient REST and gRPC) get the right predictions.

Two images: ``fraud`` with the model inside, and ``--no-model`` serving from a mounted
registry (registry-pull mode, and the SIGTERM drain with a slow model). The base image, the
wheels and podman's layers are cached between runs (tests/packaging/podman.py): the first
image takes about a minute to build on an idle 2-core machine, the second seconds.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from modelport.config import RegistrySettings
from modelport.packaging.context import normalise
from modelport.packaging.engine import Engine
from modelport.registry import Registry

from ..serving.server_process import FEATURES
from .podman import BASE, Container, build_image, podman

FRAUD = "localhost/modelport-test-fraud:1"
ROWS = np.array([[0.1, 0.2, -0.3, 0.4, 0.0], [2.0, 1.5, 0.3, -1.0, 0.5]], dtype=np.float32)


@pytest.fixture(scope="module")
def fraud_image(home: Path, podman_env: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    context = tmp_path_factory.mktemp("ctx") / "fraud"
    build_image(home, context, "fraud@production", "--tag", FRAUD)
    return context


def _expected(home: Path) -> np.ndarray:
    import xgboost as xgb

    with Registry.open(RegistrySettings(home=home)) as registry:
        path = registry.fetch_artifact(registry.resolve("fraud@production"))
    booster = xgb.Booster(model_file=str(path))
    p = booster.predict(xgb.DMatrix(ROWS, feature_names=FEATURES))
    return np.stack([1 - p, p], axis=1).astype(np.float32)


def _v2_body() -> dict[str, object]:
    return {"inputs": [{"name": n, "datatype": "FP32", "shape": [2], "data": ROWS[:, i].tolist()}
                       for i, n in enumerate(FEATURES)]}


@pytest.fixture(scope="module")
def fraud(fraud_image: Path) -> Iterator[Container]:
    container = Container(FRAUD)
    try:
        seconds = container.wait_ready()
        print(f"fraud image ready in {seconds:.1f} s")
        yield container
    finally:
        container.remove()


def test_the_image_serves_the_right_predictions_over_rest_and_grpc(
    fraud: Container, home: Path
) -> None:
    expected = _expected(home)
    answer = httpx.post(f"{fraud.url}/v2/models/fraud/infer", json=_v2_body(), timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-model-version"] == "1"  # the version built, not a renumbered one
    proba = next(o for o in answer.json()["outputs"] if o["name"] == "predict_proba")
    np.testing.assert_allclose(np.array(proba["data"]).reshape(2, 2), expected, rtol=1e-6)

    client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{fraud.grpc_port}")
    assert client.is_server_ready() and client.is_model_ready("fraud")
    inputs = []
    for i, name in enumerate(FEATURES):
        tensor = grpcclient.InferInput(name, [2], "FP32")
        tensor.set_data_from_numpy(ROWS[:, i].copy())
        inputs.append(tensor)
    result = client.infer("fraud", inputs, outputs=[grpcclient.InferRequestedOutput(
        "predict_proba")])
    np.testing.assert_allclose(result.as_numpy("predict_proba"), expected, rtol=1e-6)


def test_the_image_runs_as_non_root_read_only_with_labels_and_a_healthcheck(
    fraud: Container, fraud_image: Path
) -> None:
    assert podman("exec", fraud.name, "id", "-u").stdout.strip() == "10001"
    denied = podman("exec", fraud.name, "touch", "/opt/modelport/x", check=False)
    assert denied.returncode != 0  # the root filesystem is read-only
    labels = podman("image", "inspect", "--format", "{{json .Labels}}", FRAUD).stdout
    settings = (fraud_image / "model" / "model-settings.json").read_text()
    assert '"io.modelport.model.name":"fraud"' in labels.replace(" ", "")
    assert '"io.modelport.model.version":"1"' in labels.replace(" ", "")
    sha = next(line.split('"')[3] for line in settings.splitlines() if "artifact_sha256" in line)
    assert sha in labels
    health = podman("image", "inspect", "--format", "{{json .Config.Healthcheck}}", FRAUD).stdout
    assert "modelport.packaging.healthcheck" in health  # kept: built in Docker format
    assert podman("healthcheck", "run", fraud.name, check=False).returncode == 0
    assert "gcc" not in podman("exec", fraud.name, "sh", "-c",
                               "ls /usr/bin | grep -x gcc || true").stdout


def test_a_tampered_artifact_refuses_to_start(fraud_image: Path, tmp_path: Path) -> None:
    (artifact,) = (fraud_image / "model" / "store").rglob("fraud-1.json")
    inside = "/opt/modelport/model/store/" + str(artifact.relative_to(
        fraud_image / "model" / "store"))
    evil = tmp_path / "evil.json"
    evil.write_bytes(artifact.read_bytes().replace(b'"', b" ", 1))
    evil.chmod(0o644)
    container = Container(FRAUD, options=("-v", f"{evil}:{inside}:ro"))
    try:
        deadline = time.monotonic() + 60
        while container.state() == "running" and time.monotonic() < deadline:
            time.sleep(0.3)
        assert container.exit_code() == 3
        assert "has changed since the image was built" in container.logs()
    finally:
        container.remove()


def test_the_model_layer_is_reproducible(fraud_image: Path, tmp_path: Path) -> None:
    """Two contexts written at different times, built the way ``modelport build`` builds by
    default, give the same model layer digest."""
    engine = Engine("podman", "podman")
    digests = []
    for attempt in range(2):
        copy = tmp_path / f"ctx{attempt}"
        shutil.copytree(fraud_image / "model", copy / "model")
        (copy / "model" / "model-settings.json").touch()  # a fresh mtime
        normalise(copy)
        (copy / "Containerfile").write_text(
            "ARG BASE\nFROM ${BASE}\nCOPY model /opt/modelport/model\n")
        tag = f"localhost/modelport-test-layer:{attempt}"
        engine.build(copy, tag, BASE, "never")  # reproducible=True, the default
        layers = podman("image", "inspect", "--format", "{{json .RootFS.Layers}}", tag).stdout
        digests.append(layers.strip().strip("[]").split(",")[-1])
        time.sleep(1.1)
    assert digests[0] == digests[1]


def test_registry_pull_mode_and_sigterm_drains_in_flight_requests(
    server_image: str, home: Path
) -> None:
    """--no-model: the registry is mounted (SQLite here; a database URL in production); the
    slow model answers in 0.8 s, and podman stop's SIGTERM lets every request finish."""
    shutil.chown(home, user=10001)
    for path in home.rglob("*"):
        shutil.chown(path, user=10001)
    env = ("-v", f"{home}:{home}", "-e", f"MODELPORT_HOME={home}")
    container = Container(server_image, "fraud@production", "slow", "--allow-anonymous",
                          "--preload", "--workers", "1", "--drain-timeout", "20", options=env)
    try:
        container.wait_ready()
        answer = httpx.post(f"{container.url}/v2/models/fraud/infer", json=_v2_body(),
                            timeout=10)
        assert answer.status_code == 200, answer.text
        proba = next(o for o in answer.json()["outputs"] if o["name"] == "predict_proba")
        np.testing.assert_allclose(np.array(proba["data"]).reshape(2, 2), _expected(home),
                                   rtol=1e-6)
        body = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [2.0]}]}
        results: list[int] = []

        def call() -> None:
            r = httpx.post(f"{container.url}/v2/models/slow/infer", json=body, timeout=30)
            results.append(r.status_code)

        warm = httpx.post(f"{container.url}/v2/models/slow/infer", json=body, timeout=30)
        assert warm.status_code == 200
        threads = [threading.Thread(target=call) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)  # the requests are in flight
        started = time.monotonic()
        podman("stop", "--time", "30", container.name)
        stopped_in = time.monotonic() - started
        for thread in threads:
            thread.join(30)
        assert results == [200, 200, 200]
        assert container.exit_code() == 0  # drained and exited, not killed (137)
        assert stopped_in < 10, container.logs()
    finally:
        container.remove()
