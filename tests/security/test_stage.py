"""The security stage inside a real data plane: scope, per-model cap, prediction audit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from modelport.errors import PermissionDenied, Unavailable
from modelport.protocol.types import InferenceRequest, Tensor
from modelport.security.audit import list_audit, verify_audit
from modelport.security.audit_writer import AuditWriter
from modelport.security.limits import ConcurrencyCap
from modelport.security.roles import Principal, Role
from modelport.security.stage import current_principal, input_digest, security_stage
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.pipeline import CallContext
from modelport.serving.source import StaticSource
from tests.serving.tiny import Scaler

SCOPED = Principal(id="key:aaa", name="svc", role=Role.PREDICTOR, models=frozenset({"scaler"}))


def request(value: float = 1.0) -> InferenceRequest:
    return InferenceRequest(
        inputs=[Tensor(name="x", datatype="FP32", data=np.full((1, 3), value, np.float32))],
        id="req-1",
    )


class Gated(Scaler):
    gate = threading.Event()

    def predict(self, inputs):  # type: ignore[no-untyped-def]
        self.gate.wait(5)
        return super().predict(inputs)


@pytest.fixture
async def plane(lite: Engine) -> AsyncIterator[tuple[DataPlane, AuditWriter]]:
    source = StaticSource()
    source.add("scaler", 1, lambda: Scaler(2.0))
    source.add("other", 1, lambda: Scaler(3.0))
    source.add("gated", 1, Gated)
    writer = AuditWriter(lite, flush_interval_s=0.01)
    writer.start()
    stage = security_stage(cap=ConcurrencyCap(1), audit=writer)
    manager = ModelManager(source, ManagerConfig(refs=("scaler", "other", "gated")))
    data_plane = DataPlane(manager, stages=[stage])
    await data_plane.start()
    yield data_plane, writer
    Gated.gate.set()
    await data_plane.stop()
    writer.close()


async def test_predictions_are_audited_with_principal_version_and_input_hash(
    plane: tuple[DataPlane, AuditWriter], lite: Engine
) -> None:
    data_plane, writer = plane
    token = current_principal.set(SCOPED)
    try:
        response = await data_plane.infer("scaler", None, request(),
                                          CallContext(name="scaler", protocol="grpc"))
        with pytest.raises(PermissionDenied, match="limited to models scaler"):
            await data_plane.infer("other", None, request(), CallContext(name="other"))
    finally:
        current_principal.reset(token)
    assert response.outputs[0].data.tolist() == [[2.0, 2.0, 2.0]]
    writer.close()
    rows = list_audit(lite)
    assert [(r.action, r.actor, r.target, r.details["status"]) for r in rows] == [
        ("predict", "key:aaa", "scaler:1", "ok"),
        ("predict", "key:aaa", "other", "permission_denied"),
    ]
    assert rows[0].details["input_sha256"] == input_digest(request())
    assert rows[0].details["request_id"] == "req-1" and rows[0].details["protocol"] == "grpc"
    assert verify_audit(lite).ok


async def test_the_per_model_cap_answers_503_at_once(plane: tuple[DataPlane, AuditWriter]) -> None:
    data_plane, _ = plane
    Gated.gate.clear()
    first = asyncio.create_task(data_plane.infer("gated", None, request(),
                                                 CallContext(name="gated")))
    await asyncio.sleep(0.2)
    with pytest.raises(Unavailable, match="per-model limit"):
        await data_plane.infer("gated", None, request(), CallContext(name="gated"))
    other = await data_plane.infer("scaler", None, request(), CallContext(name="scaler"))
    assert other.model_name == "scaler"  # the cap is per model
    Gated.gate.set()
    assert (await first).model_name == "gated"
    await data_plane.infer("gated", None, request(), CallContext(name="gated"))  # slot freed


def test_input_digest_sees_values_shapes_and_names() -> None:
    base = input_digest(request(1.0))
    assert base == input_digest(request(1.0))
    assert base != input_digest(request(2.0))
    words = InferenceRequest(inputs=[Tensor(name="t", datatype="BYTES",
                                            data=np.array([b"ab", b"c"], dtype=object))])
    joined = InferenceRequest(inputs=[Tensor(name="t", datatype="BYTES",
                                             data=np.array([b"a", b"bc"], dtype=object))])
    assert input_digest(words) != input_digest(joined)
