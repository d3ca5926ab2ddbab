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

ROWS = np.random.default_rng(7).normal(size=(8, len(FEATURES))).astype(np.float32)


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(home, ["fraud@production", "--preload"], workers=2)
    try:
        proc.wait_ready()
        yield proc
    finally:
        assert proc.stop() == 0


@pytest.fixture(scope="module")
def expected(home: Path) -> np.ndarray:
    """XGBoost's own probabilities for ROWS, from the registered artifact."""
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(home / "fraud-1.json"))
    p = booster.inplace_predict(ROWS, validate_features=False)
    return np.stack([1 - p, p], axis=1).astype(np.float32)


def test_friendly_route_answers_carry_the_version_and_a_request_id(
        server: ServerProcess) -> None:
    row = dict(zip(FEATURES, map(float, ROWS[0]), strict=True))
    resp = httpx.post(f"{server.url}/v1/models/fraud:predict", json={"instances": [row]})
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-model-version"] == resp.json()["model_version"] == "1"
    assert resp.json()["id"] and resp.headers["x-request-id"] == resp.json()["id"]


def _http_columns(rows: np.ndarray, binary: bool) -> list[httpclient.InferInput]:
    inputs = []
    for i, name in enumerate(FEATURES):
        tensor = httpclient.InferInput(name, [len(rows)], "FP32")
        tensor.set_data_from_numpy(rows[:, i].copy(), binary_data=binary)
        inputs.append(tensor)
    return inputs


def _http_matrix(rows: np.ndarray, binary: bool, name: str = "input-0"
                 ) -> list[httpclient.InferInput]:
    tensor = httpclient.InferInput(name, list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows, binary_data=binary)
    return [tensor]


def _grpc_matrix(rows: np.ndarray) -> list[grpcclient.InferInput]:
    tensor = grpcclient.InferInput("input-0", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows)
    return [tensor]


def _grpc_columns(rows: np.ndarray) -> list[grpcclient.InferInput]:
    inputs = []
    for i, name in enumerate(FEATURES):
        tensor = grpcclient.InferInput(name, [len(rows)], "FP32")
        tensor.set_data_from_numpy(rows[:, i].copy())
        inputs.append(tensor)
    return inputs


@pytest.mark.parametrize("binary", [True, False])
def test_tritonclient_http(server: ServerProcess, expected: np.ndarray, binary: bool) -> None:
    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("fraud")
    meta = client.get_model_metadata("fraud")
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 5],
                               "parameters": {"feature_names": FEATURES}}]
    assert meta["versions"] == ["1"]
    outputs = [httpclient.InferRequestedOutput("predict_proba", binary_data=binary)]
    for n in (1, 8):  # the one [N, F] tensor every OIP client sends, named as metadata says
        name = meta["inputs"][0]["name"]
        result = client.infer("fraud", _http_matrix(ROWS[:n], binary, name), outputs=outputs,
                               request_id="tc-1")
        np.testing.assert_allclose(result.as_numpy("predict_proba"), expected[:n], atol=1e-6)
        assert result.get_response()["id"] == "tc-1"
        assert result.get_response()["model_version"] == "1"
    columns = client.infer("fraud", _http_columns(ROWS, binary), outputs=outputs)
    np.testing.assert_array_equal(columns.as_numpy("predict_proba"),
                                  client.infer("fraud", _http_matrix(ROWS, binary),
                                               outputs=outputs).as_numpy("predict_proba"))
    everything = client.infer("fraud", _http_matrix(ROWS, binary, "rows"))  # any name will do
    assert {o["name"] for o in everything.get_response()["outputs"]} == {
        "predict", "predict_proba"}
    np.testing.assert_array_equal(everything.as_numpy("predict"), expected.argmax(axis=1))
    index = client.get_model_repository_index()
    assert {"name": "fraud", "version": "1", "state": "READY"} in index


def test_tritonclient_http_errors(server: ServerProcess) -> None:
    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    inputs = _http_columns(ROWS, True)
    with pytest.raises(InferenceServerException, match="not served here"):
        client.infer("fraud-ghost", inputs)
    with pytest.raises(InferenceServerException, match="missing input"):
        client.infer("fraud", inputs[:3])
    with pytest.raises(InferenceServerException, match=r"shape \[-1, 5\].*got 'input-0' of "
                       r"shape \[8, 4\]"):
        client.infer("fraud", _http_matrix(ROWS[:, :4].copy(), True))
    with pytest.raises(InferenceServerException, match="not a mix"):
        client.infer("fraud", _http_matrix(ROWS, True) + inputs[:1])


def test_tritonclient_grpc(server: ServerProcess, expected: np.ndarray) -> None:
    client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{server.grpc_port}")
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("fraud")
    meta = client.get_model_metadata("fraud", as_json=True)
    assert [(t["name"], t["shape"]) for t in meta["inputs"]] == [("input-0", ["-1", "5"])]
    outputs = [grpcclient.InferRequestedOutput("predict_proba")]
    for n in (1, 8):
        result = client.infer("fraud", _grpc_matrix(ROWS[:n]), outputs=outputs, request_id="g")
        np.testing.assert_allclose(result.as_numpy("predict_proba"), expected[:n], atol=1e-6)
        assert result.get_response().model_version == "1"
    columns = client.infer("fraud", _grpc_columns(ROWS), outputs=outputs)
    np.testing.assert_allclose(columns.as_numpy("predict_proba"), expected, atol=1e-6)
    with pytest.raises(InferenceServerException) as err:
        client.infer("fraud", _grpc_columns(ROWS)[:2])
    assert "INVALID_ARGUMENT" in str(err.value.status())
    with pytest.raises(InferenceServerException) as missing:
        client.infer("fraud-ghost", _grpc_matrix(ROWS))
    assert "NOT_FOUND" in str(missing.value.status())


def test_grpc_typed_contents(server: ServerProcess, expected: np.ndarray) -> None:
    """The [N, F] tensor in ``contents.fp32_contents`` instead of raw bytes."""
    import grpc

    from modelport.protocol.grpc_gen import grpc_service_pb2 as pb
    from modelport.protocol.grpc_gen import grpc_service_pb2_grpc as pb_grpc

    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        tensor = pb.ModelInferRequest.InferInputTensor(
            name="input-0", datatype="FP32", shape=list(ROWS.shape),
            contents=pb.InferTensorContents(fp32_contents=ROWS.ravel().tolist()),
        )
        reply = stub.ModelInfer(pb.ModelInferRequest(
            model_name="fraud", inputs=[tensor],
            outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name="predict_proba")]))
    raw = reply.raw_output_contents[0] if reply.raw_output_contents else None
    got = (np.frombuffer(raw, dtype=np.float32) if raw is not None
           else np.array(reply.outputs[0].contents.fp32_contents, dtype=np.float32))
    np.testing.assert_allclose(got.reshape(-1, 2), expected, atol=1e-6)


def test_plain_httpx_v2_and_errors(server: ServerProcess) -> None:
    body = {"inputs": [{"name": n, "datatype": "FP32", "shape": [1], "data": [1.0]}
                       for n in FEATURES]}
    ok = httpx.post(f"{server.url}/v2/models/fraud/versions/1/infer", json=body)
    assert ok.status_code == 200 and ok.json()["model_version"] == "1"
    for data in ([1.0] * 5, [[1.0] * 5]):  # flat or nested, as the JSON codec allows
        matrix = {"inputs": [{"name": "input-0", "datatype": "FP32", "shape": [1, 5],
                              "data": data}]}
        same = httpx.post(f"{server.url}/v2/models/fraud/infer", json=matrix)
        assert same.status_code == 200, same.text
        assert same.json()["outputs"] == ok.json()["outputs"]
    wrong = httpx.post(f"{server.url}/v2/models/fraud/infer", json={"inputs": [
        {"name": "input-0", "datatype": "FP64", "shape": [1, 5], "data": [1.0] * 5}]})
    assert wrong.status_code == 400 and "one FP32 tensor of shape [-1, 5]" in wrong.json()["error"]
    bad = httpx.post(f"{server.url}/v2/models/fraud/infer", content=b"{")
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
    big = httpx.post(f"{server.url}/v2/models/fraud/infer", content=b" " * (65 * 2**20))
    assert big.status_code == 413
