"""Overload at 3x capacity: the per-model concurrency cap answers the excess at once with 503
and ``Retry-After`` instead of letting it queue into timeouts; admitted requests keep their
unloaded latency, and the server serves normally the moment the load drops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from modelport.runtimes.base import Array, Batch
from modelport.security.limits import ConcurrencyCap
from modelport.security.stage import security_stage
from modelport.serving.batcher import BatchPolicy
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.rest import RestApp
from modelport.serving.served import ModelOptions
from modelport.serving.source import StaticSource

from ..serving.tiny import Scaler

PREDICT_S = 0.004  # one predict call; capacity with the cap of 1 below: 250 requests/s
BODY = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}]}


class Busy(Scaler):
    def predict(self, inputs: Batch) -> dict[str, Array]:
        time.sleep(PREDICT_S)
        return super().predict(inputs)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    source = StaticSource()
    source.add("busy", 1, Busy)
    config = ManagerConfig(
        refs=("busy",), options=ModelOptions(batch=BatchPolicy(max_size=1, max_delay_ms=0))
    )
    plane = DataPlane(
        ModelManager(source, config), stages=[security_stage(cap=ConcurrencyCap(1))]
    )
    await plane.start(preload=True)
    await plane.models.wait_preloaded()
    transport = httpx.ASGITransport(app=RestApp(plane, max_body_bytes=4096))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c
    await plane.stop()


async def timed(client: httpx.AsyncClient) -> tuple[httpx.Response, float]:
    began = time.perf_counter()
    response = await client.post("/v2/models/busy/infer", json=BODY, timeout=10)
    return response, time.perf_counter() - began


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def test_at_3x_capacity_the_excess_is_refused_fast_and_admitted_latency_holds(
    client: httpx.AsyncClient,
) -> None:
    unloaded = [(await timed(client))[1] for _ in range(100)]
    rate, seconds = 750, 1.5  # 3x capacity, open loop
    tasks = []
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(timed(client)))
    results = await asyncio.gather(*tasks)
    admitted = [s for r, s in results if r.status_code == 200]
    refused = [(r, s) for r, s in results if r.status_code != 200]
    assert admitted and len(refused) > len(results) // 3, "not overloaded"
    assert all(r.status_code == 503 and r.headers["retry-after"] == "1" for r, _ in refused)
    assert "retry shortly" in refused[0][0].json()["error"]
    base, loaded = p99(unloaded), p99(admitted)
    assert loaded <= 2 * base + 0.002, (
        f"admitted p99 {loaded * 1e3:.1f} ms against {base * 1e3:.1f} ms unloaded"
    )
    assert p99([s for _, s in refused]) < base, "a refusal must be faster than an answer"
    after, _ = await timed(client)  # the load is gone: served at once
    assert after.status_code == 200
