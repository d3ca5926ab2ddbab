"""Request deadlines: work whose deadline passed is answered 504 / DEADLINE_EXCEEDED at once and
dropped before predict, never computed; at 2x overload no request runs past its deadline."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import grpc
import httpx
import numpy as np
import pytest

from modelport.errors import DeadlineExceeded
from modelport.protocol.grpc_codec import request_to_grpc
from modelport.protocol.grpc_gen import grpc_service_pb2_grpc as pb_grpc
from modelport.protocol.types import InferenceRequest, Tensor
from modelport.runtimes.base import Array, Batch
from modelport.serving.batcher import Batcher, BatchPolicy
from modelport.serving.dataplane import DataPlane
from modelport.serving.grpc_server import start_grpc_server
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.rest import RestApp
from modelport.serving.source import StaticSource

from .tiny import Scaler


class Recording:
    """A predict that takes ``cost_s`` per call and records when each call began, with what."""

    def __init__(self, cost_s: float) -> None:
        self.cost_s = cost_s
        self.calls: list[tuple[float, list[float]]] = []

    def __call__(self, inputs: Batch) -> dict[str, Array]:
        self.calls.append((time.monotonic(), inputs["x"][:, 0].tolist()))
        time.sleep(self.cost_s)
        return {"y": inputs["x"] * 2}


async def test_at_2x_overload_no_request_runs_past_its_deadline() -> None:
    predict = Recording(cost_s=0.010)  # 4 rows per 10 ms call: capacity 400 requests/s
    batcher = Batcher(predict, BatchPolicy(max_size=4, max_delay_ms=0), name="slow")
    budget_s, rate, seconds = 0.060, 800, 1.5  # twice the capacity
    deadlines: dict[float, float] = {}
    answered: dict[float, tuple[str, float]] = {}

    async def one(ident: float) -> None:
        deadline = time.monotonic() + budget_s
        deadlines[ident] = deadline
        try:
            await batcher.submit({"x": np.full((1, 3), ident)}, deadline=deadline)
            answered[ident] = ("ok", time.monotonic())
        except DeadlineExceeded:
            answered[ident] = ("expired", time.monotonic())

    tasks = []
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one(float(i))))
    await asyncio.gather(*tasks)
    await batcher.close()

    computed = {ident for _, idents in predict.calls for ident in idents}
    late_starts = [
        (ident, began - deadlines[ident])
        for began, idents in predict.calls
        for ident in idents
        if began > deadlines[ident] + 0.002  # the check runs microseconds before predict
    ]
    assert not late_starts, f"computed after their deadline: {late_starts[:5]}"
    outcomes = [kind for kind, _ in answered.values()]
    expired = outcomes.count("expired")
    assert len(answered) == len(tasks) and expired > len(tasks) // 5, "not overloaded"
    assert outcomes.count("ok") > len(tasks) // 5
    lateness = sorted(t - deadlines[i] for i, (_, t) in answered.items())
    # Answers, 200 or 504, come by the deadline plus event-loop jitter: on this shared 2-core
    # machine the loop itself is sometimes descheduled for tens of ms, hence p50 and p99.
    p50, p99 = lateness[len(lateness) // 2], lateness[int(len(lateness) * 0.99)]
    assert p50 < 0.005 and p99 < 0.100, f"answers {p50 * 1e3:.1f} / {p99 * 1e3:.1f} ms late"
    never_run = {i for i, (kind, _) in answered.items() if kind == "expired"} - computed
    assert len(never_run) > len(tasks) // 5, "expired requests must be dropped, not computed"
    assert batcher.stats.expired_requests == expired


async def test_a_deadline_already_past_is_refused_without_queueing() -> None:
    predict = Recording(cost_s=0.0)
    batcher = Batcher(predict, BatchPolicy(max_size=4), name="m")
    with pytest.raises(DeadlineExceeded, match="had passed already"):
        await batcher.submit({"x": np.ones((1, 3))}, deadline=time.monotonic() - 0.001)
    assert await batcher.submit({"x": np.ones((1, 3))}, deadline=time.monotonic() + 5)
    assert len(predict.calls) == 1 and batcher.stats.expired_requests == 1
    await batcher.close()


class Gated(Scaler):
    """Blocks in predict until the gate opens; records every first input value it computed."""

    def __init__(self) -> None:
        super().__init__(2.0)
        self.gate = threading.Event()
        self.seen: list[float] = []

    def predict(self, inputs: Batch) -> dict[str, Array]:
        self.seen.extend(inputs["x"][:, 0].tolist())
        self.gate.wait(5)
        return super().predict(inputs)


@pytest.fixture
async def gated() -> AsyncIterator[tuple[DataPlane, Gated]]:
    model = Gated()
    source = StaticSource()
    source.add("gated", 1, lambda: model)
    plane = DataPlane(
        ModelManager(source, ManagerConfig(refs=("gated",))), default_deadline_ms=None
    )
    await plane.start(preload=True)
    yield plane, model
    model.gate.set()
    await plane.stop()


def body(value: float, **parameters: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [value] * 3}]
    }
    if parameters:
        doc["parameters"] = parameters
    return doc


async def test_rest_header_parameter_and_default_deadlines_answer_504(
    gated: tuple[DataPlane, Gated],
) -> None:
    plane, model = gated
    app = RestApp(plane, max_body_bytes=4096)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        url = "/v2/models/gated/infer"
        busy = asyncio.create_task(client.post(url, json=body(1.0)))  # holds the model
        while not model.seen:
            await asyncio.sleep(0.005)
        began = time.monotonic()
        by_header = await client.post(url, json=body(2.0), headers={"x-deadline-ms": "80"})
        header_s = time.monotonic() - began
        by_param = await client.post(url, json=body(3.0, deadline_ms=50))
        plane.default_deadline_ms = 40
        by_default = await client.post(url, json=body(4.0))
        bad_header = await client.post(url, json=body(5.0), headers={"x-deadline-ms": "soon"})
        bad_param = await client.post(url, json=body(6.0, deadline_ms=-1))
        model.gate.set()
        assert (await busy).status_code == 200
    for response in (by_header, by_param, by_default):
        assert response.status_code == 504, response.text
        assert "deadline passed" in response.json()["error"]
    assert 0.07 <= header_s < 0.5
    assert bad_header.status_code == 400 and "x-deadline-ms" in bad_header.json()["error"]
    assert bad_param.status_code == 400 and "deadline_ms" in bad_param.json()["error"]
    assert model.seen == [1.0], "an expired request must never be computed"


async def test_grpc_deadline_drops_the_queued_request(gated: tuple[DataPlane, Gated]) -> None:
    plane, model = gated
    server, port = await start_grpc_server(plane, "127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)

            def message(value: float) -> object:
                x = Tensor(name="x", datatype="FP32", data=np.full((1, 3), value, np.float32))
                return request_to_grpc(InferenceRequest(inputs=[x]), model_name="gated")

            async def hold() -> object:
                return await stub.ModelInfer(message(1.0))

            busy = asyncio.create_task(hold())
            while not model.seen:
                await asyncio.sleep(0.005)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.ModelInfer(message(2.0), timeout=0.1)
            assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            await asyncio.sleep(0.05)  # the server's own timer has fired by now
            model.gate.set()
            await busy
    finally:
        await server.stop(0)
    assert model.seen == [1.0] and plane.models.lookup("gated") is not None
    served = plane.models.lookup("gated")
    assert served is not None and served.batcher.stats.expired_requests == 1
