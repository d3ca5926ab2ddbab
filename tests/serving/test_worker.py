"""A real ``modelport serve`` process, spoken to by independent clients: NVIDIA's tritonclient
(HTTP with binary data on and off, and gRPC) and plain httpx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from .server_process import FEATURES, ServerProcess

ROWS = np.array([[0.5, 1.0, -0.2, 0.0, 3.0], [-2.0, -1.0, 0.1, 0.2, 0.3]], dtype=np.float32)


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(home, ["fraud@production", "--preload"], workers=2)
    try:
        proc.wait_ready()
        yield proc
    finally:
        assert proc.stop() == 0


@pytest.fixture(scope="module")
def expected(server: ServerProcess) -> np.ndarray:
    """What the server answers for ROWS, asked through the friendly route."""
    rows = [dict(zip(FEATURES, map(float, r), strict=True)) for r in ROWS]
    resp = httpx.post(f"{server.url}/v1/models/fraud:predict", json={"instances": rows})
    assert resp.status_code == 200, resp.text
    predictions = resp.json()["predictions"]
    assert [set(p) for p in predictions] == [{"predict", "predict_proba"}] * 2
    return np.array([p["predict_proba"] for p in predictions], dtype=np.float32)


def test_friendly_route_answers_carry_the_version_and_a_request_id(
        server: ServerProcess) -> None:
    row = dict(zip(FEATURES, map(float, ROWS[0]), strict=True))
    resp = httpx.post(f"{server.url}/v1/models/fraud:predict", json={"instances": [row]})
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-model-version"] == resp.json()["model_version"] == "1"
    assert resp.json()["id"] and resp.headers["x-request-id"] == resp.json()["id"]


def _http_inputs(binary: bool) -> list[httpclient.InferInput]:
    inputs = []
    for i, name in enumerate(FEATURES):
        tensor = httpclient.InferInput(name, [2], "FP32")
        tensor.set_data_from_numpy(ROWS[:, i].copy(), binary_data=binary)
        inputs.append(tensor)
    return inputs


def _grpc_inputs() -> list[grpcclient.InferInput]:
    inputs = []
    for i, name in enumerate(FEATURES):
        tensor = grpcclient.InferInput(name, [2], "FP32")
        tensor.set_data_from_numpy(ROWS[:, i].copy())
        inputs.append(tensor)
    return inputs


@pytest.mark.parametrize("binary", [True, False])
def test_tritonclient_http(server: ServerProcess, expected: np.ndarray, binary: bool) -> None:
    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("fraud")
    meta = client.get_model_metadata("fraud")
    assert [t["name"] for t in meta["inputs"]] == FEATURES
    assert meta["versions"] == ["1"]
    inputs = _http_inputs(binary)
    outputs = [httpclient.InferRequestedOutput("predict_proba", binary_data=binary)]
    result = client.infer("fraud", inputs, outputs=outputs, request_id="tc-1")
    np.testing.assert_allclose(result.as_numpy("predict_proba"), expected, rtol=1e-6)
    assert result.get_response()["id"] == "tc-1"
    assert result.get_response()["model_version"] == "1"
    everything = client.infer("fraud", inputs)  # no outputs named: all of them
    assert {o["name"] for o in everything.get_response()["outputs"]} == {
        "predict", "predict_proba"}
    index = client.get_model_repository_index()
    assert {"name": "fraud", "version": "1", "state": "READY"} in index


def test_tritonclient_http_errors(server: ServerProcess) -> None:
    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    inputs = _http_inputs(True)
    with pytest.raises(InferenceServerException, match="not served here"):
        client.infer("ghost", inputs)
    with pytest.raises(InferenceServerException, match="missing input"):
        client.infer("fraud", inputs[:3])


def test_tritonclient_grpc(server: ServerProcess, expected: np.ndarray) -> None:
    client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{server.grpc_port}")
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("fraud")
    meta = client.get_model_metadata("fraud", as_json=True)
    assert [t["name"] for t in meta["inputs"]] == FEATURES
    outputs = [grpcclient.InferRequestedOutput("predict_proba")]
    result = client.infer("fraud", _grpc_inputs(), outputs=outputs, request_id="g")
    np.testing.assert_allclose(result.as_numpy("predict_proba"), expected, rtol=1e-6)
    assert result.get_response().model_version == "1"
    with pytest.raises(InferenceServerException) as err:
        client.infer("fraud", _grpc_inputs()[:2])
    assert "INVALID_ARGUMENT" in str(err.value.status())
    with pytest.raises(InferenceServerException) as missing:
        client.infer("ghost", _grpc_inputs())
    assert "NOT_FOUND" in str(missing.value.status())


def test_plain_httpx_v2_and_errors(server: ServerProcess) -> None:
    body = {"inputs": [{"name": n, "datatype": "FP32", "shape": [1], "data": [1.0]}
                       for n in FEATURES]}
    ok = httpx.post(f"{server.url}/v2/models/fraud/versions/1/infer", json=body)
    assert ok.status_code == 200 and ok.json()["model_version"] == "1"
    bad = httpx.post(f"{server.url}/v2/models/fraud/infer", content=b"{")
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
    big = httpx.post(f"{server.url}/v2/models/fraud/infer", content=b" " * (65 * 2**20))
    assert big.status_code == 413
