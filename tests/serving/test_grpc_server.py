"""The gRPC transport in process, through the generated stub: every RPC and the error codes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import numpy as np
import pytest

from modelport.protocol.grpc_codec import request_to_grpc, response_from_grpc
from modelport.protocol.grpc_gen import grpc_service_pb2 as pb
from modelport.protocol.grpc_gen import grpc_service_pb2_grpc as pb_grpc
from modelport.protocol.types import InferenceRequest, RequestedOutput, Tensor
from modelport.serving.dataplane import DataPlane
from modelport.serving.grpc_server import start_grpc_server
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.source import StaticSource


@pytest.fixture
async def stub(source: StaticSource) -> AsyncIterator[pb_grpc.GRPCInferenceServiceStub]:
    plane = DataPlane(ModelManager(source, ManagerConfig(refs=("scaler@production",))))
    await plane.start()
    server, port = await start_grpc_server(plane, "127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield pb_grpc.GRPCInferenceServiceStub(channel)
    await server.stop(0)
    await plane.stop()


def infer_request(data: np.ndarray, **kwargs: object) -> object:
    req = InferenceRequest(
        inputs=[Tensor(name="x", datatype="FP32", data=data.astype(np.float32))], id="g-1"
    )
    if kwargs.get("outputs"):
        req.outputs = [RequestedOutput(name=n) for n in kwargs["outputs"]]  # type: ignore[attr-defined]
    return request_to_grpc(req, model_name="scaler", model_version=str(kwargs.get("version", "")))


async def test_health_and_metadata(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    assert (await stub.ServerLive(pb.ServerLiveRequest())).live
    assert (await stub.ServerReady(pb.ServerReadyRequest())).ready
    meta = await stub.ServerMetadata(pb.ServerMetadataRequest())
    assert meta.name == "modelport" and "binary_tensor_data" in meta.extensions
    model = await stub.ModelMetadata(pb.ModelMetadataRequest(name="scaler"))
    assert (model.platform, model.inputs[0].name, list(model.inputs[0].shape)) == (
        "python", "x", [-1, 3])
    assert (await stub.ModelReady(pb.ModelReadyRequest(name="scaler"))).ready


async def test_model_infer_raw_contents(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    msg = await stub.ModelInfer(infer_request(np.ones((2, 3))))
    resp = response_from_grpc(msg)
    assert (resp.model_version, resp.id) == ("1", "g-1")
    assert [t.name for t in resp.outputs] == ["y", "total"]
    assert resp.outputs[1].data.tolist() == [3.0, 3.0]
    assert len(msg.raw_output_contents) == 2
    pinned = response_from_grpc(await stub.ModelInfer(infer_request(np.ones((1, 3)), version=2)))
    assert pinned.model_version == "2" and pinned.outputs[0].data.tolist() == [[3.0, 3.0, 3.0]]


@pytest.mark.parametrize(
    ("message", "code", "text"),
    [
        (infer_request(np.ones((1, 4))), grpc.StatusCode.INVALID_ARGUMENT, "takes shape"),
        (infer_request(np.ones((1, 3)), outputs=["zz"]), grpc.StatusCode.INVALID_ARGUMENT,
         "has no output 'zz'"),
        (pb.ModelInferRequest(model_name="scaler"), grpc.StatusCode.INVALID_ARGUMENT,
         "no inputs"),
        (infer_request(np.ones((1, 3)), version=7), grpc.StatusCode.NOT_FOUND,
         "has no version 7"),
        (infer_request(-np.ones((1, 3))), grpc.StatusCode.INTERNAL, "negative input"),
    ],
)
async def test_errors_map_to_status_codes(
    stub: pb_grpc.GRPCInferenceServiceStub, message: object, code: grpc.StatusCode, text: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ModelInfer(message)
    assert err.value.code() == code
    assert text in (err.value.details() or "")


async def test_unknown_model_is_not_found(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ModelMetadata(pb.ModelMetadataRequest(name="ghost"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_stream_infer_answers_each_request(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    async def requests() -> AsyncIterator[object]:
        yield infer_request(np.ones((1, 3)))
        yield infer_request(np.ones((1, 5)))
        yield infer_request(np.full((1, 3), 2.0))

    answers = [a async for a in stub.ModelStreamInfer(requests())]
    assert answers[0].infer_response.model_name == "scaler"
    assert "takes shape" in answers[1].error_message
    assert response_from_grpc(answers[2].infer_response).outputs[1].data.tolist() == [6.0]


async def test_repository_rpcs(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    await stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name="scaler"))
    index = await stub.RepositoryIndex(pb.RepositoryIndexRequest(ready=True))
    assert [(m.name, m.version, m.state) for m in index.models] == [("scaler", "1", "READY")]
    await stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name="scaler"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ModelInfer(infer_request(np.ones((1, 3))))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_stages_see_grpc_metadata(source: StaticSource) -> None:
    from modelport.serving.pipeline import CallContext, Infer

    seen: list[CallContext] = []

    def recorder(inner: Infer) -> Infer:
        async def infer(ctx: CallContext, request: object) -> object:
            seen.append(ctx)
            return await inner(ctx, request)  # type: ignore[arg-type]

        return infer  # type: ignore[return-value]

    plane = DataPlane(ModelManager(source), stages=[recorder])
    server, port = await start_grpc_server(plane, "127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        await stub.ModelInfer(infer_request(np.ones((1, 3))), metadata=(("x-api-key", "k2"),))
    await server.stop(0)
    await plane.stop()
    assert [(c.protocol, c.name, c.headers.get("x-api-key")) for c in seen] == [
        ("grpc", "scaler", "k2")]
