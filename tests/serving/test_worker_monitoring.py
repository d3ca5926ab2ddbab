"""Monitoring wired into a worker's REST app, in process, over a registry-backed source:
request ids, /metrics, the contract's reject and flag paths, the inference log and feedback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelport.config import RegistrySettings
from modelport.monitoring.config import LogConfig, MonitoringConfig
from modelport.monitoring.contract_store import load_contract, save_contract
from modelport.monitoring.log_reader import read_log
from modelport.protocol.grpc_codec import request_to_grpc
from modelport.protocol.grpc_gen import grpc_service_pb2_grpc as pb_grpc
from modelport.protocol.types import InferenceRequest, Tensor
from modelport.registry import Registry
from modelport.serving.dataplane import DataPlane
from modelport.serving.grpc_server import start_grpc_server
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.registry_source import RegistrySource
from modelport.serving.rest import RestApp
from modelport.serving.worker_monitoring import WorkerMonitoring
from tests.monitoring.models import FEATURES, register_fraud


class Served:
    def __init__(self, client: httpx.AsyncClient, monitoring: WorkerMonitoring,
                 plane: DataPlane, registry: Registry, log: Path) -> None:
        self.client, self.monitoring, self.plane = client, monitoring, plane
        self.registry, self.log = registry, log


async def serve(tmp_path: Path, policy: str) -> AsyncIterator[Served]:
    home = tmp_path / "home"
    registry = Registry.open(RegistrySettings(home=home))
    register_fraud(registry, tmp_path / "model")
    source = RegistrySource(registry)
    log = tmp_path / "log"
    config = MonitoringConfig(contract_policy=policy,  # type: ignore[arg-type]
                              log=LogConfig(root=str(log), flush_interval_s=0.1))
    monitoring = WorkerMonitoring(config, source)
    plane = DataPlane(ModelManager(source, ManagerConfig(refs=("fraud@production",)),
                                   observer=monitoring.monitor),
                      stages=[monitoring.observe, monitoring.validate])
    await plane.start(preload=True)
    await plane.models.wait_preloaded()
    await monitoring.start(plane.models)
    app = monitoring.wrap_rest(RestApp(plane, feedback=monitoring.feedback()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        yield Served(client, monitoring, plane, registry, log)
    await plane.stop()
    await monitoring.close()
    registry.close()


@pytest.fixture
async def flagging(tmp_path: Path) -> AsyncIterator[Served]:
    async for served in serve(tmp_path, "flag"):
        yield served


@pytest.fixture
async def rejecting(tmp_path: Path) -> AsyncIterator[Served]:
    async for served in serve(tmp_path, "reject"):
        yield served


def body(amount: float = 0.1, **extra: object) -> dict[str, object]:
    values = {"amount": amount, "hour": 12.0, "velocity": 0.0}
    return {"inputs": [{"name": f, "datatype": "FP32", "shape": [1], "data": [values[f]]}
                       for f in FEATURES], **extra}


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value
            for f in text_string_to_metric_families(text) for s in f.samples if s.name == name}


async def test_requests_get_ids_and_are_counted(flagging: Served) -> None:
    first = await flagging.client.post("/v2/models/fraud/infer", json=body())
    assert first.status_code == 200
    generated = first.json()["id"]
    assert generated  # no id was sent: the server gave one, for feedback
    given = await flagging.client.post("/v2/models/fraud/infer", json=body(id="mine-1"))
    assert given.json()["id"] == "mine-1"
    header = await flagging.client.post("/v2/models/fraud/infer", json=body(),
                                        headers={"x-request-id": "hdr-9"})
    assert header.json()["id"] == "hdr-9"
    missing = await flagging.client.post("/v2/models/nosuch/infer", json=body())
    assert missing.status_code == 404
    metrics = await flagging.client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    requests = samples(metrics.text, "modelport_requests_total")
    ok = (("endpoint", "fraud"), ("model", "fraud"), ("protocol", "rest"), ("status", "ok"),
          ("version", "1"))
    assert requests[ok] == 3
    assert any(dict(k)["status"] == "not_found" for k in requests)
    loads = samples(metrics.text, "modelport_model_load_duration_seconds_count")
    assert loads[(("model", "fraud"), ("version", "1"))] == 1
    rows = samples(metrics.text, "modelport_batch_size_rows_count")
    assert rows[(("model", "fraud"), ("version", "1"))] == 3
    assert (await flagging.client.post("/metrics")).status_code == 405


async def test_reject_answers_422_listing_each_violation(rejecting: Served) -> None:
    await rejecting.client.post("/v2/models/fraud/infer", json=body())  # contract is ready
    answer = await rejecting.client.post("/v2/models/fraud/infer", json=body(amount=1e6))
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert "amount=1e+06 is above the maximum" in error and "(row 0)" in error
    assert "modelport monitor contract fraud --set" in error
    nan = await rejecting.client.post("/v2/models/fraud/infer", json=body(amount="NaN"))
    assert nan.status_code in (400, 422)
    metrics = (await rejecting.client.get("/metrics")).text
    violations = samples(metrics, "modelport_contract_violations_total")
    assert violations[(("field", "amount"), ("model", "fraud"), ("policy", "reject"),
                       ("rule", "max"))] == 1
    statuses = {dict(k)["status"]: v for k, v in
                samples(metrics, "modelport_requests_total").items()}
    assert statuses["contract_violation"] == 1


async def test_grpc_rejects_with_invalid_argument(rejecting: Served) -> None:
    await rejecting.client.post("/v2/models/fraud/infer", json=body())
    server, port = await start_grpc_server(rejecting.plane, "127.0.0.1", 0)
    try:
        request = InferenceRequest(inputs=[
            Tensor(name=f, datatype="FP32",
                   data=np.array([1e6 if f == "amount" else 0.0], dtype=np.float32))
            for f in FEATURES])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.ModelInfer(request_to_grpc(request, model_name="fraud"))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "above the maximum" in (info.value.details() or "")
    finally:
        await server.stop(0)


async def test_flag_serves_counts_and_logs_the_violation(flagging: Served) -> None:
    await flagging.client.post("/v2/models/fraud/infer", json=body())
    answer = await flagging.client.post("/v2/models/fraud/infer", json=body(amount=1e6, id="f1"))
    assert answer.status_code == 200
    metrics = (await flagging.client.get("/metrics")).text
    violations = samples(metrics, "modelport_contract_violations_total")
    assert violations[(("field", "amount"), ("model", "fraud"), ("policy", "flag"),
                       ("rule", "max"))] == 1
    assert flagging.monitoring.monitor.log is not None
    await asyncio.to_thread(flagging.monitoring.monitor.log.write_pending)
    logged = read_log(str(flagging.log), "fraud")
    row = logged[logged["request_id"] == "f1"].iloc[0]
    assert row["violations"] == "amount:max" and row["in_amount"] == 1e6
    assert row["version"] == "1" and 0 <= row["out_predict_proba"][1] <= 1


async def test_contract_edits_reach_the_worker(rejecting: Served) -> None:
    await rejecting.client.post("/v2/models/fraud/infer", json=body())
    engine = rejecting.registry.engine
    contract = load_contract(engine, "fraud")
    assert contract is not None and contract.derived_from == "fraud:1"
    save_contract(engine, contract.with_settings({"amount.max": "1e7"}), actor="test")
    books = rejecting.monitoring.monitor.contracts
    assert books is not None
    await books.refresh()  # what the worker does every contract_refresh_s
    answer = await rejecting.client.post("/v2/models/fraud/infer", json=body(amount=1e6))
    assert answer.status_code == 200


async def test_feedback_by_request_id(flagging: Served) -> None:
    ids = []
    for i in range(3):
        answer = await flagging.client.post("/v2/models/fraud/infer", json=body(amount=i - 1.0))
        ids.append(answer.json()["id"])
    assert flagging.monitoring.monitor.log is not None
    await asyncio.to_thread(flagging.monitoring.monitor.log.write_pending)
    single = await flagging.client.post("/v2/models/fraud/feedback",
                                        json={"request_id": ids[0], "label": 0})
    assert single.status_code == 200 and single.json() == {"accepted": 1}
    bulk = await flagging.client.post("/v2/models/fraud/feedback", json={"feedback": [
        {"request_id": ids[1], "label": 1}, {"request_id": ids[2], "label": 1}]})
    assert bulk.json() == {"accepted": 2}
    again = await flagging.client.post("/v2/models/fraud/feedback",
                                       json={"request_id": ids[0], "label": 1})
    assert again.status_code == 409 and "already has feedback" in again.json()["error"]
    unknown = await flagging.client.post("/v2/models/fraud/feedback",
                                         json={"request_id": "nope", "label": 1})
    assert unknown.status_code == 404
    wrong = await flagging.client.post("/v2/models/fraud/feedback",
                                       json={"request_id": ids[1], "label": "yes"})
    assert wrong.status_code == 400
    broken = await flagging.client.post("/v2/models/fraud/feedback", content=b"{")
    assert broken.status_code == 400
    counts = samples((await flagging.client.get("/metrics")).text, "modelport_feedback_total")
    by_result = {dict(k)["result"]: v for k, v in counts.items()}
    assert by_result == {"accepted": 3, "duplicate": 1, "unknown_request": 1, "bad_label": 1}
