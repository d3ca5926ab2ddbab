"""The gRPC transport: ``inference.GRPCInferenceService`` on grpcio's asyncio server.

Each method translates the message (``modelport.protocol.grpc_codec``), calls the same
:class:`DataPlane` as REST, and maps error kinds to status codes through one table.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import grpc

from modelport.errors import Conflict, ErrorKind, ModelportError
from modelport.protocol.grpc_codec import request_from_grpc, response_to_grpc
from modelport.protocol.grpc_gen import grpc_service_pb2 as pb
from modelport.protocol.grpc_gen import grpc_service_pb2_grpc as pb_grpc
from modelport.serving.dataplane import DataPlane
from modelport.serving.pipeline import CallContext

__all__ = ["GRPC_STATUS", "InferenceServicer", "start_grpc_server"]

log = logging.getLogger(__name__)

GRPC_STATUS: dict[ErrorKind, grpc.StatusCode] = {
    ErrorKind.INVALID_INPUT: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.CONTRACT_VIOLATION: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorKind.CONFLICT: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorKind.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    ErrorKind.INTEGRITY: grpc.StatusCode.DATA_LOSS,
    ErrorKind.UNSAFE_ARTIFACT: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorKind.UNSUPPORTED_ARTIFACT: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorKind.MISSING_DEPENDENCY: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorKind.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    ErrorKind.PERMISSION_DENIED: grpc.StatusCode.PERMISSION_DENIED,
    ErrorKind.RATE_LIMITED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorKind.PAYLOAD_TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorKind.DEADLINE_EXCEEDED: grpc.StatusCode.DEADLINE_EXCEEDED,
    ErrorKind.PREDICTION_FAILED: grpc.StatusCode.INTERNAL,
    ErrorKind.INTERNAL: grpc.StatusCode.INTERNAL,
}

_M = TypeVar("_M")
_Method = Callable[[Any, Any, Any], Awaitable[_M]]


def _translated(method: _Method[_M]) -> _Method[_M]:
    """Turn ModelportErrors into the status from GRPC_STATUS; anything else is INTERNAL."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Any) -> _M:
        try:
            return await method(self, request, context)
        except ModelportError as exc:
            await context.abort(GRPC_STATUS.get(exc.kind, grpc.StatusCode.INTERNAL), exc.message)
            raise  # abort raises; this line only satisfies the type checker
        except Exception as exc:
            if isinstance(exc, grpc.aio.AbortError):
                raise
            log.exception("unexpected error in gRPC %s", method.__name__)
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}")
            raise

    return wrapper


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    """Translates each RPC and delegates to the data plane."""

    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane
        meta = plane.server_metadata()
        self._metadata = pb.ServerMetadataResponse(
            name=meta["name"], version=meta["version"], extensions=meta["extensions"]
        )

    @_translated
    async def ServerLive(self, request: Any, context: Any) -> Any:
        return pb.ServerLiveResponse(live=self.plane.live())

    @_translated
    async def ServerReady(self, request: Any, context: Any) -> Any:
        return pb.ServerReadyResponse(ready=self.plane.ready())

    @_translated
    async def ModelReady(self, request: Any, context: Any) -> Any:
        ready = await self.plane.model_ready(request.name, request.version or None)
        return pb.ModelReadyResponse(ready=ready)

    @_translated
    async def ServerMetadata(self, request: Any, context: Any) -> Any:
        return self._metadata

    @_translated
    async def ModelMetadata(self, request: Any, context: Any) -> Any:
        meta = await self.plane.model_metadata(request.name, request.version or None)
        tensor = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=meta["name"],
            versions=meta["versions"],
            platform=meta["platform"],
            inputs=[tensor(name=t["name"], datatype=t["datatype"], shape=t["shape"])
                    for t in meta["inputs"]],
            outputs=[tensor(**t) for t in meta["outputs"]],
        )

    @_translated
    async def ModelInfer(self, request: Any, context: Any) -> Any:
        return await self._infer(request, context)

    async def ModelStreamInfer(
        self, request_iterator: AsyncIterator[Any], context: Any
    ) -> AsyncIterator[Any]:
        """Answers in order; a failed request answers with its error_message, the stream
        goes on."""
        async for request in request_iterator:
            try:
                response = await self._infer(request, context)
            except ModelportError as exc:
                yield pb.ModelStreamInferResponse(error_message=exc.message)
            else:
                yield pb.ModelStreamInferResponse(infer_response=response)

    @_translated
    async def RepositoryIndex(self, request: Any, context: Any) -> Any:
        entry = pb.RepositoryIndexResponse.ModelIndex
        models = [
            entry(name=s.name, version=s.version or "", state=s.state.value, reason=s.reason)
            for s in await self.plane.repository_index()
            if not request.ready or s.state == "READY"
        ]
        return pb.RepositoryIndexResponse(models=models)

    @_translated
    async def RepositoryModelLoad(self, request: Any, context: Any) -> Any:
        await self.plane.load_model(request.model_name)
        return pb.RepositoryModelLoadResponse()

    @_translated
    async def RepositoryModelUnload(self, request: Any, context: Any) -> Any:
        await self.plane.unload_model(request.model_name)
        return pb.RepositoryModelUnloadResponse()

    async def _infer(self, request: Any, context: Any) -> Any:
        arrivals = self.plane.arrivals
        arrivals.enter()
        try:
            decoded = request_from_grpc(request)
        finally:
            arrivals.leave()
        name, version = request.model_name, request.model_version or None
        ctx = None
        if self.plane.staged:
            metadata = {k.lower(): v for k, v in context.invocation_metadata() or ()
                        if isinstance(v, str)}
            ctx = CallContext(name=name, version=version, protocol="grpc", headers=metadata)
        remaining = context.time_remaining()  # the client's gRPC deadline, if it set one
        deadline = time.monotonic() + remaining if remaining is not None else None
        response = await self.plane.infer(name, version, decoded, ctx, deadline=deadline)
        return response_to_grpc(response)


async def start_grpc_server(
    plane: DataPlane,
    host: str,
    port: int,
    *,
    max_message_bytes: int = 64 * 1024 * 1024,
    interceptors: Sequence[Any] = (),
    credentials: Any = None,
) -> tuple[Any, int]:
    """A started ``grpc.aio`` server on ``host:port`` (SO_REUSEPORT, so workers share it),
    and the port it got (``port`` 0 picks a free one). ``interceptors`` and TLS
    ``credentials`` come from :mod:`modelport.serving.secure`."""
    server = grpc.aio.server(
        interceptors=list(interceptors) or None,
        options=[
            ("grpc.so_reuseport", 1),
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", -1),
        ]
    )
    register: Any = pb_grpc.add_GRPCInferenceServiceServicer_to_server
    register(InferenceServicer(plane), server)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        if credentials is not None:
            bound = server.add_secure_port(address, credentials)
        else:
            bound = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise Conflict(f"cannot listen on {address} for gRPC: {exc}; choose --grpc-port") from None
    if not bound:
        raise Conflict(f"cannot listen on {address} for gRPC; choose another --grpc-port")
    await server.start()
    return server, bound
