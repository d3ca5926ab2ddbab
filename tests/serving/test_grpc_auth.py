"""The gRPC interceptor in process: every RPC against every role, per-message scope on the
stream, limits, and refusals that never crash the server."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from sqlalchemy.engine import Engine

from modelport.protocol.grpc_codec import request_to_grpc
from modelport.protocol.grpc_gen import grpc_service_pb2 as pb
from modelport.protocol.grpc_gen import grpc_service_pb2_grpc as pb_grpc
from modelport.protocol.types import InferenceRequest, Tensor
from modelport.security.audit import list_audit
from modelport.security.audit_writer import AuditWriter
from modelport.security.authn import Authenticator
from modelport.security.keys import KeyStore
from modelport.security.limits import RateLimit
from modelport.security.roles import Role
from modelport.security.stage import security_stage
from modelport.serving.dataplane import DataPlane
from modelport.serving.grpc_auth import SecureInterceptor
from modelport.serving.grpc_server import start_grpc_server
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.source import StaticSource
from tests.serving.secured import expected, make_callers, open_database
from tests.serving.tiny import Scaler

V, P, D, A = Role.VIEWER, Role.PREDICTOR, Role.DEPLOYER, Role.ADMIN


def infer(model: str) -> Any:
    request = InferenceRequest(
        inputs=[Tensor(name="x", datatype="FP32", data=np.ones((1, 3), np.float32))], id="g")
    return request_to_grpc(request, model_name=model)


#: (RPC, request, role needed, model touched): every RPC of the service.
RPCS: list[tuple[str, Any, Role | None, str | None]] = [
    ("ServerLive", pb.ServerLiveRequest(), None, None),
    ("ServerReady", pb.ServerReadyRequest(), None, None),
    ("ServerMetadata", pb.ServerMetadataRequest(), V, None),
    ("ModelMetadata", pb.ModelMetadataRequest(name="scaler"), V, "scaler"),
    ("ModelReady", pb.ModelReadyRequest(name="scaler"), V, "scaler"),
    ("ModelMetadata", pb.ModelMetadataRequest(name="other"), V, "other"),
    ("ModelInfer", infer("scaler"), P, "scaler"),
    ("ModelInfer", infer("other"), P, "other"),
    ("ModelStreamInfer", [infer("scaler")], P, "scaler"),
    ("ModelStreamInfer", [infer("other")], P, "other"),
    ("RepositoryIndex", pb.RepositoryIndexRequest(), V, None),
    ("RepositoryModelUnload", pb.RepositoryModelUnloadRequest(model_name="scaler"), D, "scaler"),
    ("RepositoryModelLoad", pb.RepositoryModelLoadRequest(model_name="scaler"), D, "scaler"),
]


class Gated(Scaler):
    gate = threading.Event()

    def predict(self, inputs):  # type: ignore[no-untyped-def]
        self.gate.wait(5)
        return super().predict(inputs)


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
async def plane(source: StaticSource, lite: Engine) -> AsyncIterator[DataPlane]:
    source.add("gated", 1, Gated)
    manager = ModelManager(source, ManagerConfig(refs=("scaler@production", "other", "gated")))
    data_plane = DataPlane(manager, stages=[security_stage()])
    await data_plane.start()
    yield data_plane
    Gated.gate.set()
    await data_plane.stop()


async def serve(plane: DataPlane, lite: Engine, **kwargs: Any) -> tuple[Any, grpc.aio.Channel]:
    authn = Authenticator(keys=KeyStore(lite))
    authn.refresh()
    interceptor = SecureInterceptor(authn, **kwargs)
    server, port = await start_grpc_server(plane, "127.0.0.1", 0, interceptors=[interceptor],
                                           max_message_bytes=4096)
    return server, grpc.aio.insecure_channel(f"127.0.0.1:{port}")


async def call(stub: Any, rpc: str, request: Any, token: str, **kwargs: Any) -> Any:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    if rpc == "ModelStreamInfer":
        answers = [a async for a in stub.ModelStreamInfer(iter(request), metadata=metadata)]
        if answers and answers[0].error_message:
            raise AssertionError(answers[0].error_message)
        return answers
    return await getattr(stub, rpc)(request, metadata=metadata, **kwargs)


async def test_every_rpc_against_every_role(plane: DataPlane, lite: Engine) -> None:
    callers = make_callers(lite)
    writer = AuditWriter(lite)
    server, channel = await serve(plane, lite, audit=writer)
    stub = pb_grpc.GRPCInferenceServiceStub(channel)
    wrong: list[str] = []
    try:
        for caller, token in callers.tokens.items():
            for rpc, request, need, model in RPCS:
                try:
                    await call(stub, rpc, request, token)
                    got = "ok"
                except grpc.aio.AioRpcError as exc:
                    got = {grpc.StatusCode.UNAUTHENTICATED: "401",
                           grpc.StatusCode.PERMISSION_DENIED: "403"}.get(exc.code(), "ok")
                    if got == "403":
                        assert "needs role" in (exc.details() or "") or \
                            "limited to models" in (exc.details() or "")
                want = expected(caller, callers, need, model)
                if got != want:
                    wrong.append(f"{caller} {rpc} {model}: {got} (want {want})")
    finally:
        await channel.close()
        await server.stop(0)
        writer.close()
    assert wrong == []
    deployer = "key:" + callers.tokens["deployer"].split("_")[1]
    actions = {(r.action, r.actor, r.details.get("protocol")) for r in list_audit(lite)}
    assert ("model.unload", deployer, "grpc") in actions
    assert ("model.load", deployer, "grpc") in actions
    assert any(a == "auth.failure" for a, _, _ in actions)


async def test_a_stream_is_cut_at_the_first_message_outside_the_scope(
    plane: DataPlane, lite: Engine
) -> None:
    token = KeyStore(lite).create(name="s", role="predictor", models="scaler", actor="t").token
    server, channel = await serve(plane, lite)
    stub = pb_grpc.GRPCInferenceServiceStub(channel)
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for answer in stub.ModelStreamInfer(
            iter([infer("scaler"), infer("other"), infer("scaler")]),
            metadata=(("x-api-key", token),),
        ):
            received.append(answer)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "limited to models scaler" in (caught.value.details() or "")
    assert len(received) == 1 and received[0].infer_response.model_name == "scaler"
    await channel.close()
    await server.stop(0)


async def test_limits_over_grpc(plane: DataPlane, lite: Engine) -> None:
    token = KeyStore(lite).create(name="p", role="predictor", actor="t").token
    server, channel = await serve(plane, lite, rate_limit=RateLimit.parse("1/s:2"),
                                  timeout_s=0.3)
    stub = pb_grpc.GRPCInferenceServiceStub(channel)
    meta = (("x-api-key", token),)
    Gated.gate.clear()
    with pytest.raises(grpc.aio.AioRpcError) as slow:
        await stub.ModelInfer(infer("gated"), metadata=meta)
    assert slow.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    Gated.gate.set()
    await stub.ModelInfer(infer("scaler"), metadata=meta)
    with pytest.raises(grpc.aio.AioRpcError) as limited:
        await stub.ModelInfer(infer("scaler"), metadata=meta)
    assert limited.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert dict(limited.value.trailing_metadata() or ())["retry-after"] == "1"
    big = infer("scaler")
    big.raw_input_contents[0] = b"\0" * 8000
    with pytest.raises(grpc.aio.AioRpcError) as oversized:
        await stub.ModelInfer(big, metadata=meta)
    assert oversized.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (await stub.ServerLive(pb.ServerLiveRequest())).live  # the server is fine
    await channel.close()
    await server.stop(0)
