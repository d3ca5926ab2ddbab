"""The security stage of the inference pipeline: scope check, per-model cap, prediction audit.

Transports authenticate before a request reaches the data plane (REST middleware, gRPC
interceptor) and leave the principal in :data:`current_principal`; this stage copies it into
the :class:`~modelport.serving.pipeline.CallContext`, checks the model scope once more at the
name the pipeline answers for, refuses a request beyond the per-model cap (503: the server
is busy, the caller did nothing wrong, and gRPC clients retry UNAVAILABLE on their own) and,
when asked, records the prediction in the audit log.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import numpy as np

from modelport.errors import ModelportError, Unavailable
from modelport.protocol.types import InferenceRequest, InferenceResponse
from modelport.security.audit_writer import AuditWriter
from modelport.security.limits import ConcurrencyCap
from modelport.security.roles import Principal, Role, authorize

__all__ = ["current_principal", "input_digest", "security_stage"]

current_principal: ContextVar[Principal | None] = ContextVar("modelport_principal", default=None)
"""Set by the transports' authentication for the duration of one request."""

# The pipeline's shapes, restated so this floor does not import serving.
_Infer = Callable[[Any, InferenceRequest], Awaitable[InferenceResponse]]


def input_digest(request: InferenceRequest) -> str:
    """sha256 over every input's name, datatype, shape and values."""
    digest = hashlib.sha256()
    for tensor in request.inputs:
        digest.update(f"{tensor.name}|{tensor.datatype}|{tensor.shape}|".encode())
        data = tensor.data
        if data.dtype == object:
            for item in data.ravel():
                value = item if isinstance(item, bytes) else str(item).encode()
                digest.update(len(value).to_bytes(8, "little") + value)
        else:
            digest.update(np.ascontiguousarray(data).tobytes())
    return digest.hexdigest()


def security_stage(
    *, cap: ConcurrencyCap | None = None, audit: AuditWriter | None = None
) -> Callable[[_Infer], _Infer]:
    """A pipeline ``Stage``; put it first (outermost)."""

    def stage(call_next: _Infer) -> _Infer:
        async def infer(ctx: Any, request: InferenceRequest) -> InferenceResponse:
            principal: Principal | None = ctx.principal or current_principal.get()
            ctx.principal = principal
            name: str = ctx.name
            status, version, entered = "ok", ctx.version, False
            try:
                if principal is not None:
                    authorize(principal, Role.PREDICTOR, name, action="run inference")
                if cap is not None:
                    entered = cap.enter(name)
                    if not entered:
                        raise Unavailable(
                            f"model {name!r} is answering {cap.limit} requests already (the "
                            "per-model limit); retry shortly",
                            details={"retry_after_s": 1},
                        )
                response = await call_next(ctx, request)
                version = response.model_version
                return response
            except ModelportError as exc:
                status = exc.kind.value
                raise
            except asyncio.CancelledError:
                status = "cancelled"
                raise
            except BaseException:
                status = "internal"
                raise
            finally:
                if entered:
                    assert cap is not None
                    cap.leave(name)
                if audit is not None:
                    audit.submit(
                        "predict",
                        principal.id if principal is not None else "unknown",
                        f"{name}:{version}" if version else name,
                        {"request_id": request.id, "input_sha256": input_digest(request),
                         "status": status, "protocol": ctx.protocol},
                    )

        return infer

    return stage
