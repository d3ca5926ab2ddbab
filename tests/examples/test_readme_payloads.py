"""Every payload example in the README, sent as written to a real ``modelport serve`` (REST,
gRPC through tritonclient, feedback, A/B outcomes) or through the stream scorer's decoder."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport.config import RegistrySettings
from modelport.registry import Registry
from modelport.routing.service import DeploymentService
from modelport.runtimes.xgboost_runtime import XGBoostRuntime
from modelport.streaming.base import Message
from modelport.streaming.decode import Decoder, output_records
from tests.serving.server_process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"<!-- payload: ([\w-]+) -->\n```\w+\n(.*?)\n```", re.S)
AB = """endpoint: fraud
strategy: ab
stable: fraud@production
candidate: fraud:2
"""


def payloads() -> dict[str, str]:
    found = dict(_BLOCK.findall((ROOT / "README.md").read_text()))
    assert set(found) >= {"v2-request", "v2-response", "grpc-python", "v1-request",
                          "v1-response", "feedback", "ab-outcome", "stream-event",
                          "stream-result"}, sorted(found)
    return found


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model trained on the fraud example's data (same 30 features)."""
    import xgboost as xgb

    sys.path.insert(0, str(ROOT / "examples" / "fraud"))
    from data import FEATURES, make_transactions

    table = make_transactions(20_000)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "nthread": 1},
                        xgb.DMatrix(table[FEATURES], label=table["is_fraud"],
                                    feature_names=FEATURES), num_boost_round=20)
    path = tmp_path_factory.mktemp("fraud") / "model.json"
    booster.save_model(path)
    return path


@pytest.fixture(scope="module")
def server(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("home")
    runtime = XGBoostRuntime()
    runtime.load(model)
    with Registry.open(RegistrySettings(home=home)) as registry:
        for alias in ("production", None):
            registry.register("fraud", model, flavor="xgboost", signature=runtime.signature(),
                              registered_by="test", alias=alias)
        DeploymentService(registry).apply(AB, actor="test")  # A/B: outcomes count
    proc = ServerProcess(home, ["fraud", "--preload"], workers=1)
    try:
        proc.wait_ready()
        yield proc
    finally:
        assert proc.stop() == 0


def same_shape(example: Any, actual: Any) -> None:
    """The README's example and the real answer have the same keys and output layout."""
    assert set(example) == set(actual), (example, actual)
    for key in ("model_name", "id"):
        if key in example:
            assert actual[key] == example[key]


def test_every_readme_payload_works_against_a_real_server(
        server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = payloads()
    v2 = httpx.post(f"{server.url}/v2/models/fraud/infer", content=blocks["v2-request"],
                    headers={"content-type": "application/json"}, timeout=30)
    assert v2.status_code == 200, v2.text
    answer, example = v2.json(), json.loads(blocks["v2-response"])
    same_shape(example, answer)
    assert [(o["name"], o["datatype"], o["shape"]) for o in answer["outputs"]] == [
        (o["name"], o["datatype"], o["shape"]) for o in example["outputs"]]
    assert v2.headers["x-model-version"] == answer["model_version"]
    matrix = httpx.post(f"{server.url}/v2/models/fraud/infer",
                        content=blocks["v2-matrix-request"], timeout=30)
    assert matrix.status_code == 200, matrix.text
    assert matrix.json()["outputs"] == answer["outputs"]  # the same row, the same answer

    v1 = httpx.post(f"{server.url}/v1/models/fraud:predict", content=blocks["v1-request"],
                    timeout=30)
    assert v1.status_code == 200, v1.text
    same_shape(json.loads(blocks["v1-response"]), v1.json())
    assert set(v1.json()["predictions"][0]) == {"predict", "predict_proba"}

    monkeypatch.chdir(tmp_path)
    (tmp_path / "request.json").write_text(blocks["v2-request"])
    code = blocks["grpc-python"].replace("localhost:8081", f"127.0.0.1:{server.grpc_port}")
    assert code != blocks["grpc-python"]
    scope: dict[str, Any] = {}
    exec(compile(code, "README.md grpc-python", "exec"), scope)  # the README's own snippet
    assert scope["result"].as_numpy("predict_proba").shape == (1, 2)
    assert scope["result"].get_response().id == "order-1003"

    feedback = _post_when_logged(server, blocks["feedback"])
    assert feedback["accepted"] == 2, feedback
    outcomes = _post_when_logged(server, blocks["ab-outcome"])
    assert outcomes["outcomes"] == 2, outcomes


def _post_when_logged(server: ServerProcess, body: str) -> dict[str, Any]:
    """POST feedback, retrying while the inference log has not written the requests yet."""
    deadline = time.monotonic() + 20
    while True:
        resp = httpx.post(f"{server.url}/v2/models/fraud/feedback", content=body, timeout=30)
        if resp.status_code != 404 or time.monotonic() > deadline:
            assert resp.status_code == 200, resp.text
            result: dict[str, Any] = resp.json()
            return result
        time.sleep(0.3)


def test_the_stream_event_gives_the_documented_result(model: Path) -> None:
    blocks = payloads()
    runtime = XGBoostRuntime()
    runtime.load(model)
    example = json.loads(blocks["stream-result"])
    decoder = Decoder("fraud", runtime.signature(), keep=("transaction_id",))
    message = Message(id=example["id"], payload=blocks["stream-event"].encode(), event_ms=None,
                      token=None)
    decoded = decoder.decode([message])
    assert not decoded.rejected and decoded.inputs is not None
    [record] = output_records(decoded.rows, runtime.predict(decoded.inputs), model="fraud",
                              version="1", kept=decoded.kept)
    result = json.loads(record.body)
    assert list(result) == list(example)  # same fields, same order
    assert (result["id"], result["transaction_id"]) == (example["id"], "t-1001")


def test_the_readme_deployment_file_is_valid() -> None:
    from modelport.routing.spec import parse_spec

    text = (ROOT / "README.md").read_text()
    [yaml] = re.findall(r"```yaml\n(# fraud\.deploy\.yaml\n.*?)```", text, re.S)
    spec, _ = parse_spec(yaml, label="README fraud.deploy.yaml")
    assert spec.canary is not None and spec.canary.min_requests == 20
    assert spec.stable_alias == "production"
    assert all(v is not None for v in spec.canary.gates.model_dump().values())  # every gate
