"""The two stages on their own: ids, counting, sampling, dropping, contract policies."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelport.errors import ContractViolation, PredictionFailed
from modelport.monitoring.config import LogConfig, MonitoringConfig
from modelport.monitoring.contract import Contract, FieldRule
from modelport.monitoring.contract_book import ContractBook
from modelport.monitoring.inference_log import InferenceLog
from modelport.monitoring.metrics import Metrics
from modelport.monitoring.monitor import Monitor
from modelport.protocol.types import InferenceRequest, InferenceResponse, Tensor


@dataclass
class Ctx:
    name: str = "fraud"
    version: str | None = None
    protocol: str = "grpc"
    headers: dict[str, str] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return self.name


async def answer(ctx: Ctx, request: InferenceRequest) -> InferenceResponse:
    x = request.inputs[0].data
    if (x < 0).any():
        raise PredictionFailed("negative")
    return InferenceResponse(model_name="fraud", model_version="2", id=request.id,
                             outputs=[Tensor(name="y", datatype="FP64", data=x * 2)])


def req(*values: float, rid: str | None = None) -> InferenceRequest:
    return InferenceRequest(id=rid, inputs=[Tensor(name="amount", datatype="FP64",
                                                   data=np.array(values))])


def counted(metrics: Metrics, status: str) -> float:
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            if s.name == "modelport_requests_total" and s.labels["status"] == status:
                return float(s.value)
    return 0.0


class Sink:
    def __init__(self, block: bool = False) -> None:
        self.tables: list[pa.Table] = []
        self.gate = threading.Event()
        if not block:
            self.gate.set()

    def write(self, model: str, version: str, day: str, table: pa.Table) -> None:
        self.gate.wait(30)
        self.tables.append(table)


async def test_nothing_to_do_means_no_stage_at_all() -> None:
    monitor = Monitor(MonitoringConfig(metrics=False))
    assert monitor.observe(answer) is answer
    assert monitor.validate(answer) is answer  # no contracts to check


async def test_ids_counts_and_errors() -> None:
    monitor = Monitor(MonitoringConfig())
    infer = monitor.observe(answer)
    ctx = Ctx(headers={})
    first = await infer(ctx, req(1.0))
    second = await infer(ctx, req(1.0))
    assert first.id and second.id and first.id != second.id
    assert (await infer(ctx, req(1.0, rid="given"))).id == "given"
    with pytest.raises(PredictionFailed):
        await infer(ctx, req(-1.0))

    async def broken(ctx: Ctx, request: InferenceRequest) -> InferenceResponse:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        await monitor.observe(broken)(ctx, req(1.0))
    assert counted(monitor.metrics, "ok") == 3
    assert counted(monitor.metrics, "prediction_failed") == 1
    assert counted(monitor.metrics, "internal") == 1
    assert monitor.metrics.in_flight_gauge("fraud").value == 0


async def test_sampling_and_dropping() -> None:
    sink = Sink(block=True)
    log = InferenceLog(LogConfig(root=None, sample=0.5, queue_size=10), sink=sink)
    monitor = Monitor(MonitoringConfig(), log=log)
    infer = monitor.observe(answer)
    for _ in range(400):
        await infer(Ctx(), req(1.0))
    logged = log.pending + log.dropped
    assert 140 < logged < 260  # about half sampled in
    assert log.pending == 10 and log.dropped == logged - 10  # the queue is full: dropped
    text = monitor.metrics.render().decode()
    assert f'outcome="dropped"}} {float(log.dropped)}' in text
    assert f'outcome="sampled_out"}} {float(400 - logged)}' in text
    sink.gate.set()
    log.close()
    assert sum(t.num_rows for t in sink.tables) == 10


def book(policy: str | None) -> ContractBook:
    contract = Contract(model="fraud", policy=policy,  # type: ignore[arg-type]
                        fields=(FieldRule(name="amount", datatype="FP64", min=0, max=10),))
    return ContractBook(lambda model, version: contract if model == "fraud" else None)


async def test_reject_policy_raises_and_flag_notes() -> None:
    rejecting = Monitor(MonitoringConfig(contract_policy="reject"), contracts=book(None))
    infer = rejecting.validate(answer)
    assert (await infer(Ctx(), req(5.0))).outputs[0].data.tolist() == [10.0]
    with pytest.raises(ContractViolation, match="amount=11 is above the maximum 10"):
        await infer(Ctx(), req(5.0, 11.0))
    flagging = Monitor(MonitoringConfig(contract_policy="reject"), contracts=book("flag"))
    ctx = Ctx()
    with pytest.raises(PredictionFailed):  # served anyway (the model then refuses -1)
        await flagging.validate(answer)(ctx, req(11.0, -1.0, 3.0))  # the contract decides
    assert ctx.notes["contract_violations"] == "amount:max;amount:min"
    other = Ctx(name="other")
    await rejecting.validate(answer)(other, req(99.0))  # no contract: served unchecked
    assert "contract_violations" not in other.notes
