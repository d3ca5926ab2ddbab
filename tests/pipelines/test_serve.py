"""``modelport serve fraud-decision``: a pipeline answers like a model over REST and gRPC,
spoken to by tritonclient and plain httpx, batched, with per-step metrics."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from modelport.config import RegistrySettings
from modelport.pipelines import register_pipeline
from modelport.registry import Registry
from modelport.registry.loader import load_ref

from ..serving.server_process import ServerProcess
from .registry_setup import FEATURES, PIPELINE
from .test_register import FULL

ROWS = np.random.default_rng(7).normal(size=(6, len(FEATURES))).astype(np.float32) * 2


@pytest.fixture(scope="module")
def served_home(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home: Path = tmp_path_factory.mktemp("serve") / "home"
    shutil.copytree(built_home, home)
    with Registry.open(RegistrySettings(home=home)) as registry:
        register_pipeline(registry, "fraud-decision", PIPELINE, registered_by="t",
                          alias="production")
        register_pipeline(registry, "fraud-full", FULL.replace("name: fraud-decision\n", ""),
                          registered_by="t")
    return home


@pytest.fixture(scope="module")
def server(served_home: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(served_home, ["fraud-decision@production", "fraud-full", "--preload",
                                       "--max-delay-ms", "30", "--inference-log",
                                       str(served_home / "inference-log")], workers=1)
    try:
        proc.wait_ready()
        yield proc
    finally:
        assert proc.stop() == 0


@pytest.fixture(scope="module")
def expected(served_home: Path) -> np.ndarray:
    with Registry.open(RegistrySettings(home=served_home)) as registry:
        _, model = load_ref(registry, "fraud@production")
    proba: np.ndarray = model.predict({f: ROWS[:, i] for i, f in enumerate(FEATURES)})[
        "predict_proba"]
    return proba


def _decisions(proba: np.ndarray) -> list[str]:
    return ["review" if p > 0.5 else "approve" for p in proba[:, 1]]


def _text(values: np.ndarray | None) -> list[str]:
    assert values is not None
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values.tolist()]


@pytest.mark.parametrize("binary", [True, False])
def test_tritonclient_http(server: ServerProcess, expected: np.ndarray, binary: bool) -> None:
    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    assert client.is_model_ready("fraud-decision")
    meta = client.get_model_metadata("fraud-decision")
    assert meta["platform"] == "pipeline"
    assert [o["name"] for o in meta["outputs"]] == ["score.predict_proba", "decide.decision",
                                                    "decide.reason"]
    tensor = httpclient.InferInput("input-0", list(ROWS.shape), "FP32")
    tensor.set_data_from_numpy(ROWS, binary_data=binary)
    wanted = [httpclient.InferRequestedOutput(n, binary_data=binary)
              for n in ("score.predict_proba", "decide.decision", "decide.reason")]
    result = client.infer("fraud-decision", [tensor], outputs=wanted)
    np.testing.assert_allclose(result.as_numpy("score.predict_proba"), expected, rtol=1e-6)
    assert 0 < sum(d == "review" for d in _decisions(expected)) < len(ROWS)
    assert _text(result.as_numpy("decide.decision")) == _decisions(expected)
    assert result.get_response()["model_version"] == "1"


def test_tritonclient_grpc(server: ServerProcess, expected: np.ndarray) -> None:
    client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{server.grpc_port}")
    assert client.is_model_ready("fraud-decision")
    inputs = []
    for i, name in enumerate(FEATURES):  # the one-input-per-feature form
        tensor = grpcclient.InferInput(name, [len(ROWS)], "FP32")
        tensor.set_data_from_numpy(ROWS[:, i].copy())
        inputs.append(tensor)
    result = client.infer("fraud-decision", inputs)
    np.testing.assert_allclose(result.as_numpy("score.predict_proba"), expected, rtol=1e-6)
    assert _text(result.as_numpy("decide.decision")) == _decisions(expected)
    assert set(_text(result.as_numpy("decide.reason"))) == {"high_risk", ""}


def test_raw_fields_through_transform_ensemble_and_rules(server: ServerProcess) -> None:
    body = {"inputs": [
        {"name": "country", "datatype": "BYTES", "shape": [3], "data": ["NG", "FR", "FR"]},
        {"name": "amount", "datatype": "FP64", "shape": [3], "data": [500.0, 20000.0, 5.0]},
        {"name": "hour", "datatype": "FP64", "shape": [3], "data": [3.0, 12.0, 12.0]},
    ]}
    answer = httpx.post(f"{server.url}/v2/models/fraud-full/infer", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    outputs = {o["name"]: o for o in answer.json()["outputs"]}
    assert outputs["decide.decision"]["data"] == ["decline", "review", "approve"]
    assert outputs["decide.reason"]["data"] == ["blocked_country", "high_risk", "low_risk"]
    assert outputs["score.predict_proba"]["shape"] == [3, 2]


def test_bad_input_is_a_400_naming_it(server: ServerProcess) -> None:
    body = {"inputs": [{"name": "amount", "datatype": "FP64", "shape": [1], "data": [1.0]}]}
    answer = httpx.post(f"{server.url}/v2/models/fraud-full/infer", json=body, timeout=10)
    assert answer.status_code == 400
    assert "country" in answer.json()["error"]


def test_requests_batch_into_the_model_step_and_steps_have_metrics(
        server: ServerProcess) -> None:
    def step_calls(text: str, step: str) -> float:
        pattern = (r'modelport_pipeline_step_duration_seconds_count\{pipeline="fraud-decision",'
                   rf'step="{step}",version="1"\}} ([0-9.e+]+)')
        found = re.search(pattern, text)
        return float(found.group(1)) if found else 0.0

    before = httpx.get(f"{server.url}/metrics", timeout=10).text
    requests = 24

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=10) as client:
            return await asyncio.gather(*[
                client.post(f"{server.url}/v2/models/fraud-decision/infer", json={"inputs": [
                    {"name": "input-0", "datatype": "FP32", "shape": [1, 5],
                     "data": ROWS[i % len(ROWS)].tolist()}]})
                for i in range(requests)])

    answers = asyncio.run(fire())
    assert all(a.status_code == 200 for a in answers)
    after = httpx.get(f"{server.url}/metrics", timeout=10).text
    calls = step_calls(after, "score") - step_calls(before, "score")
    assert 1 <= calls < requests  # several requests shared one model call
    assert step_calls(after, "decide") - step_calls(before, "decide") == calls


def test_the_inference_log_keeps_inputs_model_output_and_decision(
        server: ServerProcess, served_home: Path) -> None:
    body = {"id": "logged-1", "inputs": [{"name": "input-0", "datatype": "FP32",
                                          "shape": [2, 5], "data": ROWS[:2].ravel().tolist()}]}
    answer = httpx.post(f"{server.url}/v2/models/fraud-decision/infer", json=body, timeout=10)
    assert answer.status_code == 200
    folder = served_home / "inference-log" / "model=fraud-decision"
    deadline = time.monotonic() + 15
    while True:
        files = sorted(folder.rglob("*.parquet"))
        logged = pd.concat([pd.read_parquet(f) for f in files]) if files else pd.DataFrame()
        if "request_id" in logged and (logged["request_id"] == "logged-1").sum() == 2:
            break
        assert time.monotonic() < deadline, "the request never reached the inference log"
        time.sleep(0.3)
    rows = logged[logged["request_id"] == "logged-1"].sort_values("row")
    np.testing.assert_allclose(rows["in_f0"], ROWS[:2, 0], rtol=1e-6)
    decisions = {o["name"]: o["data"] for o in answer.json()["outputs"]}["decide.decision"]
    assert rows["out_decide.decision"].tolist() == decisions
    assert [len(p) for p in rows["out_score.predict_proba"]] == [2, 2]
