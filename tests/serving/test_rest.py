"""The REST app in process: every route, and every bad input gets a clear 4xx (or 503)."""

from __future__ import annotations

import gzip
import struct
import threading
from collections.abc import AsyncIterator

import httpx
import numpy as np
import orjson
import pytest

from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.rest import RestApp
from modelport.serving.source import StaticSource

from .tiny import TABLE, Scaler, Table

ROW = {"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}


@pytest.fixture
async def client(source: StaticSource) -> AsyncIterator[httpx.AsyncClient]:
    source.add("table", 1, Table, signature=TABLE)  # known before loading, as in a registry
    gate = threading.Event()  # the "slow" model loads once the test is over
    source.add("slow", 1, lambda: (gate.wait(10), Scaler())[1])
    config = ManagerConfig(refs=("scaler@production", "table", "slow"), load_wait_s=0.5)
    plane = DataPlane(ModelManager(source, config))
    await plane.start()
    app = RestApp(plane, max_body_bytes=4096)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
    gate.set()
    await plane.stop()


async def test_health_and_server_metadata(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v2/health/live")).json() == {"live": True}
    ready = await client.get("/v2/health/ready")
    assert ready.status_code == 200 and ready.json() == {"ready": True}
    meta = (await client.get("/v2")).json()
    assert meta["name"] == "modelport"
    assert "binary_tensor_data" in meta["extensions"]


async def test_model_metadata_and_readiness(client: httpx.AsyncClient) -> None:
    not_yet = await client.get("/v2/models/scaler/ready")
    assert not_yet.status_code == 400 and not_yet.json()["ready"] is False
    meta = await client.get("/v2/models/scaler")
    assert meta.status_code == 200
    assert meta.json()["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}]
    assert (await client.get("/v2/models/scaler/versions/1")).json()["versions"] == ["1"]
    assert (await client.get("/v2/models/scaler/ready")).status_code == 200
    assert (await client.get("/v2/models/scaler/versions/1/ready")).status_code == 200


async def test_infer_json_echoes_id_and_answers_every_output(client: httpx.AsyncClient) -> None:
    # tritonclient sends JSON without a Content-Type header: the raw content here has none
    body = orjson.dumps({"id": "req-7", "inputs": [ROW]})
    resp = await client.post("/v2/models/scaler/infer", content=body)
    assert "content-type" not in resp.request.headers
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert (doc["model_name"], doc["model_version"], doc["id"]) == ("scaler", "1", "req-7")
    assert doc["outputs"] == [
        {"name": "y", "datatype": "FP32", "shape": [1, 3], "data": [2.0, 4.0, 6.0]},
        {"name": "total", "datatype": "FP64", "shape": [1], "data": [6.0]},
    ]


async def test_infer_a_pinned_version(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v2/models/scaler/versions/2/infer", json={"inputs": [ROW]})
    assert resp.json()["model_version"] == "2"
    assert resp.json()["outputs"][0]["data"] == [3.0, 6.0, 9.0]


async def test_infer_binary_in_and_out(client: httpx.AsyncClient) -> None:
    raw = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32).tobytes()
    header = orjson.dumps(
        {
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 3],
                        "parameters": {"binary_data_size": len(raw)}}],
            "outputs": [{"name": "total", "parameters": {"binary_data": True}}],
        }
    )
    resp = await client.post(
        "/v2/models/scaler/infer",
        content=header + raw,
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
    assert resp.status_code == 200, resp.text
    length = int(resp.headers["inference-header-content-length"])
    doc = orjson.loads(resp.content[:length])
    assert doc["outputs"][0]["parameters"]["binary_data_size"] == 16
    assert struct.unpack("<2d", resp.content[length:]) == (6.0, 15.0)


async def test_gzip_request_body(client: httpx.AsyncClient) -> None:
    body = gzip.compress(orjson.dumps({"inputs": [ROW]}))
    resp = await client.post(
        "/v2/models/scaler/infer", content=body, headers={"Content-Encoding": "gzip"}
    )
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v2/models/scaler/infer", b"{not json", 400, "not valid JSON"),
        ("/v2/models/scaler/infer", b"[]", 400, "must be a JSON object"),
        ("/v2/models/scaler/infer", {"inputs": [{**ROW, "datatype": "FP128"}]}, 400,
         "unknown datatype 'FP128'"),
        ("/v2/models/scaler/infer", {"inputs": [{**ROW, "shape": [1, 4]}]}, 400,
         "holds 4 elements but 'data' has 3"),
        ("/v2/models/scaler/infer", {"inputs": [{**ROW, "shape": [3, 1]}]}, 400,
         r"takes shape [-1, 3] (-1 is any size), got [3, 1]"),
        ("/v2/models/scaler/infer", {"inputs": [{**ROW, "datatype": "INT32"}]}, 400,
         "takes FP32, got INT32"),
        ("/v2/models/scaler/infer", {"inputs": [ROW, {**ROW, "name": "q"}]}, 400,
         "has no input 'q'"),
        ("/v2/models/scaler/infer", {"inputs": [ROW], "outputs": [{"name": "z"}]}, 400,
         "has no output 'z'"),
        ("/v2/models/scaler/infer", {"inputs": [{**ROW, "data": ["a", "b", "c"]}]}, 400,
         "FP32 data must be numbers"),
        ("/v2/models/ghost/infer", {"inputs": [ROW]}, 404, "not served here"),
        ("/v2/models/scaler/versions/9/infer", {"inputs": [ROW]}, 404, "has no version 9"),
        ("/v2/models/slow/infer", {"inputs": [ROW]}, 503, "still loading"),
        ("/v2/models/scaler/infer", {"inputs": [{**ROW, "data": [0] * 3000,
                                                 "shape": [1, 3000]}]}, 413, "limit is 4096"),
        ("/v2/models/scaler/explode", {}, 404, "no route POST"),
        ("/nowhere", {}, 404, "described at /docs"),
    ],
)
async def test_bad_requests_get_a_clear_error(
    client: httpx.AsyncClient, path: str, body: object, status: int, message: str
) -> None:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    resp = await client.post(path, content=content)
    assert resp.status_code == status, resp.text
    assert message in resp.json()["error"]


async def test_too_large_chunked_body_and_wrong_method(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    resp = await client.post("/v2/models/scaler/infer", content=chunks())
    assert resp.status_code == 413
    wrong = await client.get("/v2/models/scaler/infer")
    assert wrong.status_code == 405 and "takes POST, not GET" in wrong.json()["error"]


async def test_a_failing_model_is_a_json_error(client: httpx.AsyncClient) -> None:
    bad = {"inputs": [{**ROW, "data": [-1, 2, 3]}]}
    resp = await client.post("/v2/models/scaler/infer", json=bad)
    assert resp.status_code == 500
    assert "ValueError: negative input" in resp.json()["error"]


async def test_repository_index_load_and_unload(client: httpx.AsyncClient) -> None:
    index = (await client.post("/v2/repository/index")).json()
    assert {e["name"]: e["state"] for e in index} == {
        "scaler": "UNAVAILABLE", "slow": "UNAVAILABLE", "table": "UNAVAILABLE"}
    assert (await client.post("/v2/repository/models/table/load")).status_code == 200
    ready = (await client.post("/v2/repository/index", json={"ready": True})).json()
    assert ready == [{"name": "table", "state": "READY", "version": "1"}]
    assert (await client.post("/v2/repository/models/table/unload")).status_code == 200
    resp = await client.post("/v2/models/table/infer", json={"inputs": [ROW]})
    assert resp.status_code == 503 and "unloaded" in resp.json()["error"]
    missing = await client.post("/v2/repository/models/ghost/load")
    assert missing.status_code == 404


async def test_friendly_predict_with_objects_and_lists(client: httpx.AsyncClient) -> None:
    rows = {"instances": [{"amount": 2.5, "count": 2}, {"amount": 1, "count": 3, "id": 9}]}
    resp = await client.post("/v1/models/table:predict", json=rows)
    assert resp.status_code == 200, resp.text
    assert resp.json()["predictions"] == [5.0, 3.0]
    lists = await client.post("/v1/models/table:predict", json={"instances": [[2, 4]]})
    assert lists.json()["predictions"] == [8.0]
    tensors = await client.post("/v1/models/scaler:predict", json={"instances": [[1, 1, 1]]})
    assert tensors.json()["predictions"] == [{"y": [2.0, 2.0, 2.0], "total": 3.0}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"nope", "not valid JSON"),
        (b'{"rows": []}', "non-empty 'instances' list"),
        (b'{"instances": [{"amount": 1}]}', "lacks 1 column(s) the model needs: count"),
        (b'{"instances": [{"amount": "x", "count": 1}]}', "must be FP64"),
    ],
)
async def test_friendly_predict_bad_input(
    client: httpx.AsyncClient, body: bytes, message: str
) -> None:
    resp = await client.post("/v1/models/table:predict", content=body)
    assert resp.status_code == 400, resp.text
    assert message in resp.json()["error"]


async def test_openapi_schema_is_built_from_signatures(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    op = doc["paths"]["/v1/models/table:predict"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    row = schema["properties"]["instances"]["items"]["oneOf"][0]
    assert row["properties"]["amount"]["type"] == "number"
    assert row["required"] == ["amount", "count"]
    assert "/v2/models/{model_name}/infer" in doc["paths"]
    feedback = doc["paths"]["/v2/models/{model_name}/feedback"]["post"]
    item = doc["components"]["schemas"]["FeedbackItem"]
    assert {"request_id", "row", "label", "conversion", "value"} <= set(item["properties"])
    assert len(feedback["requestBody"]["content"]["application/json"]["schema"]["oneOf"]) == 3
    docs = await client.get("/docs")
    assert docs.status_code == 200 and b"/openapi.json" in docs.content


async def test_stages_see_the_protocol_and_headers(source: StaticSource) -> None:
    from modelport.serving.pipeline import CallContext, Infer

    seen: list[CallContext] = []

    def recorder(inner: Infer) -> Infer:
        async def infer(ctx: CallContext, request: object) -> object:
            seen.append(ctx)
            return await inner(ctx, request)  # type: ignore[arg-type]

        return infer  # type: ignore[return-value]

    plane = DataPlane(ModelManager(source, ManagerConfig(refs=("scaler",))), stages=[recorder])
    transport = httpx.ASGITransport(app=RestApp(plane))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        resp = await c.post("/v2/models/scaler/infer", json={"inputs": [ROW]},
                            headers={"X-Api-Key": "k1"})
        assert resp.status_code == 200
        friendly = await c.post("/v1/models/scaler:predict", json={"instances": [[1, 2, 3]]})
        assert friendly.status_code == 200
    assert [(c.protocol, c.name, c.headers.get("x-api-key")) for c in seen] == [
        ("rest", "scaler", "k1"), ("rest", "scaler", None)]
    await plane.stop()


async def test_readiness_of_a_model_or_version_that_does_not_exist_is_404(
        client: httpx.AsyncClient, source: StaticSource) -> None:
    for path in ("/v2/models/nosuch/ready", "/v2/models/scaler/versions/99/ready",
                 "/v2/models/scaler/versions/x/ready"):
        resp = await client.get(path)
        assert resp.status_code == 404, (path, resp.text)
        assert "error" in resp.json()


async def test_a_listed_reference_that_does_not_resolve_is_not_ready_404(
        source: StaticSource) -> None:
    plane = DataPlane(ModelManager(source, ManagerConfig(refs=("scaler@nosuch",))))
    await plane.start()
    try:
        transport = httpx.ASGITransport(app=RestApp(plane))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            resp = await c.get("/v2/models/scaler/ready")
        assert resp.status_code == 404 and "no alias 'nosuch'" in resp.json()["error"]
    finally:
        await plane.stop()


async def test_friendly_predict_says_which_version_answered_and_the_request_id(
        client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/models/scaler:predict",
                             json={"id": "order-17", "instances": [[1, 2, 3]]})
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-model-version"] == "1" and resp.json()["model_version"] == "1"
    assert resp.headers["x-request-id"] == "order-17" and resp.json()["id"] == "order-17"
    bad = await client.post("/v1/models/scaler:predict", json={"id": 5, "instances": [[1, 2, 3]]})
    assert bad.status_code == 400 and "'id' must be a string" in bad.json()["error"]
