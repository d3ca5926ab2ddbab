"""Explanations from a real ``modelport serve``: the REST route, the infer parameter over
REST and gRPC, the inference log, and ``modelport explain`` for a logged request id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import numpy as np
import pytest
import xgboost as xgb

from modelport.protocol.grpc_codec import request_to_grpc, response_from_grpc
from modelport.protocol.grpc_gen import grpc_service_pb2_grpc as pb_grpc
from modelport.protocol.types import InferenceRequest, Tensor

from .server_process import FEATURES, ServerProcess

ROW = {f: v for f, v in zip(FEATURES, [0.5, -1.2, 0.3, 2.0, -0.7], strict=True)}


CLI = [sys.executable, "-m", "modelport.cli.main", "explain", "fraud"]


def body(**parameters: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "inputs": [{"name": f, "datatype": "FP32", "shape": [1], "data": [v]}
                   for f, v in ROW.items()],
    }
    if parameters:
        doc["parameters"] = parameters
    return doc


def margin(home: Path) -> float:
    booster = xgb.Booster()
    booster.load_model(str(home / "fraud-1.json"))
    x = np.array([list(ROW.values())], dtype=np.float32)
    return float(booster.predict(xgb.DMatrix(x, feature_names=FEATURES), output_margin=True)[0])


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(home, ["fraud@production", "--preload"], workers=1)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def test_explain_route_adds_up_to_the_margin(server: ServerProcess, home: Path) -> None:
    resp = httpx.post(f"{server.url}/v2/models/fraud/explain", json=body(), timeout=30)
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["method"] == "tree_path_dependent" and doc["space"] == "log_odds"
    assert doc["features"] == FEATURES and doc["model_version"] == "1"
    (row,) = doc["explanations"]
    assert set(row["contributions"]) == set(FEATURES)
    total = row["base"] + sum(row["contributions"].values())
    assert abs(total - margin(home)) < 1e-5
    assert abs(row["value"] - margin(home)) < 1e-5
    assert len(doc["predictions"]["predict_proba"]) == 1


def test_explain_parameter_on_infer_and_grpc(server: ServerProcess, home: Path) -> None:
    resp = httpx.post(f"{server.url}/v2/models/fraud/infer", json=body(explain=True), timeout=30)
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    outputs = {o["name"]: o for o in doc["outputs"]}
    assert outputs["explain_contributions"]["shape"] == [1, len(FEATURES)]
    assert json.loads(doc["parameters"]["explain_features"]) == FEATURES
    total = outputs["explain_base"]["data"][0] + sum(outputs["explain_contributions"]["data"])
    assert abs(total - margin(home)) < 1e-5
    plain = httpx.post(f"{server.url}/v2/models/fraud/infer", json=body(), timeout=30).json()
    assert "explain_contributions" not in {o["name"] for o in plain["outputs"]}

    request = InferenceRequest(
        inputs=[Tensor(name=f, datatype="FP32", data=np.array([v], np.float32))
                for f, v in ROW.items()],
        parameters={"explain": True},
    )
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        answer = response_from_grpc(stub.ModelInfer(request_to_grpc(request, model_name="fraud")))
    got = {t.name: t.data for t in answer.outputs}
    assert abs(float(got["explain_base"][0] + got["explain_contributions"].sum())
               - margin(home)) < 1e-5
    assert answer.parameters["explain_method"] == "tree_path_dependent"


def test_bad_explain_requests_are_clear_4xx(server: ServerProcess) -> None:
    bad_flag = httpx.post(f"{server.url}/v2/models/fraud/infer", json=body(explain="maybe"),
                          timeout=30)
    assert bad_flag.status_code == 400
    assert "parameter 'explain' must be true or false" in bad_flag.json()["error"]
    wrong_method = httpx.get(f"{server.url}/v2/models/fraud/explain", timeout=30)
    assert wrong_method.status_code == 405
    missing = httpx.post(f"{server.url}/v2/models/fraud/explain",
                         json={"inputs": body()["inputs"][:2]}, timeout=30)  # type: ignore[index]
    assert missing.status_code == 400


def test_explain_cli_shows_a_logged_request(server: ServerProcess, home: Path) -> None:
    doc = httpx.post(f"{server.url}/v2/models/fraud/explain", json=body(), timeout=30).json()
    plain = httpx.post(f"{server.url}/v2/models/fraud/infer", json=body(), timeout=30).json()
    env = {**os.environ, "MODELPORT_HOME": str(home)}
    deadline = time.monotonic() + 30
    while True:  # the log is written in the background, about once a second
        run = subprocess.run([*CLI, doc["id"],
                              "--json"], capture_output=True, text=True, env=env)
        if run.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert run.returncode == 0, run.stderr
    (row,) = json.loads(run.stdout)["rows"]
    assert row["source"] == "logged with the prediction"
    assert row["contributions"] == pytest.approx(doc["explanations"][0]["contributions"])
    # a request logged without an explanation is explained again, to the same numbers
    again = subprocess.run([*CLI, plain["id"],
                            "--json"], capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    (row,) = json.loads(again.stdout)["rows"]
    assert row["source"].startswith("computed now")
    assert row["contributions"] == pytest.approx(doc["explanations"][0]["contributions"],
                                                 abs=1e-5)
    table = subprocess.run([*CLI, doc["id"]],
                           capture_output=True, text=True, env=env)
    assert table.returncode == 0 and "contribution" in table.stdout and "f0" in table.stdout
    unknown = subprocess.run([*CLI, "nope"],
                             capture_output=True, text=True, env=env)
    assert unknown.returncode == 1 and "not in the inference log" in unknown.stderr
