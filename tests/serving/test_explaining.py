"""The explain route in process: the sampling fallback for a plain tabular model, and a clear
400 for a model that cannot be explained."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.rest import RestApp
from modelport.serving.source import StaticSource

from .tiny import TABLE, Table


@pytest.fixture
async def client(source: StaticSource) -> AsyncIterator[httpx.AsyncClient]:
    source.add("table", 1, Table, signature=TABLE)
    plane = DataPlane(ModelManager(source, ManagerConfig(refs=("scaler", "table"))))
    await plane.start()
    transport = httpx.ASGITransport(app=RestApp(plane))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
    await plane.stop()


async def test_a_python_tabular_model_gets_sampling_shapley(client: httpx.AsyncClient) -> None:
    body = {"inputs": [
        {"name": "amount", "datatype": "FP64", "shape": [2], "data": [3.0, 5.0]},
        {"name": "count", "datatype": "FP64", "shape": [2], "data": [2.0, 4.0]},
    ]}
    resp = await client.post("/v2/models/table/explain", json=body)
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["method"] == "sampling_shapley" and doc["features"] == ["amount", "count"]
    first, second = doc["explanations"]
    # score = amount * count against a zero baseline: each feature gets half the product
    assert first["base"] == 0.0 and first["value"] == 6.0
    assert first["contributions"] == {"amount": pytest.approx(3.0), "count": pytest.approx(3.0)}
    assert sum(second["contributions"].values()) == pytest.approx(20.0)
    assert doc["predictions"]["score"] == [6.0, 20.0]


async def test_a_tensor_model_cannot_be_explained(client: httpx.AsyncClient) -> None:
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}]}
    resp = await client.post("/v2/models/scaler/explain", json=body)
    assert resp.status_code == 400
    assert "has no explainer" in resp.json()["error"]
