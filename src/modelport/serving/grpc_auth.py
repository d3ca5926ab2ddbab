"""The gRPC edge of security: a ``grpc.aio`` server interceptor.

Credentials come from the call metadata (``authorization: Bearer <token>`` or
``x-api-key``). Each RPC is gated by its rule in :mod:`modelport.security.policy`, with the
model read from the request message itself (every message, for ``ModelStreamInfer``).
Refusals abort with UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED (with a
``retry-after`` trailer); a call past ``--request-timeout`` ends with DEADLINE_EXCEEDED.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc

from modelport.errors import ModelportError, PermissionDenied, Unauthenticated
from modelport.security.audit_writer import AuditWriter
from modelport.security.authn import Authenticator
from modelport.security.limits import RateLimit, RateLimiter
from modelport.security.policy import GrpcRule, grpc_rule
from modelport.security.roles import Principal, authorize
from modelport.security.stage import current_principal
from modelport.serving.grpc_server import GRPC_STATUS

__all__ = ["SecureInterceptor"]

log = logging.getLogger(__name__)


class SecureInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Authentication, RBAC, rate limit, timeout and audit for every RPC."""

    def __init__(
        self,
        authn: Authenticator,
        *,
        rate_limit: RateLimit | None = None,
        timeout_s: float | None = None,
        audit: AuditWriter | None = None,
    ) -> None:
        self.authn, self.audit, self.timeout_s = authn, audit, timeout_s
        self.limiter = RateLimiter(rate_limit) if rate_limit is not None else None
        self._plain = rate_limit is None and timeout_s is None
        self._refusal_audit = RateLimiter(RateLimit(per_second=1.0, burst=20))

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: Any
    ) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        rule = grpc_rule(details.method)
        if rule.role is None or (
            self._plain and not self.authn.enforcing and rule.audit is None
        ):
            return handler
        metadata = tuple(details.invocation_metadata or ())
        kwargs = {"request_deserializer": handler.request_deserializer,
                  "response_serializer": handler.response_serializer}
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, rule, metadata, details.method), **kwargs)
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                self._streaming(handler.stream_stream, rule, metadata), **kwargs)
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._unary_stream(handler.unary_stream, rule, metadata), **kwargs)
        return grpc.stream_unary_rpc_method_handler(
            self._stream_unary(handler.stream_unary, rule, metadata), **kwargs)

    def _unary(self, inner: Any, rule: GrpcRule, metadata: Sequence[Any], method: str) -> Any:
        async def behavior(request: Any, context: Any) -> Any:
            principal = await self._admit(context, rule, metadata, _model(rule, request))
            token = current_principal.set(principal)
            outcome = "error"
            try:
                if self.timeout_s is None:
                    answer = await inner(request, context)
                else:
                    try:
                        async with asyncio.timeout(self.timeout_s):
                            answer = await inner(request, context)
                    except TimeoutError:
                        log.warning("gRPC %s ran past the %.3g s request timeout", method,
                                    self.timeout_s)
                        await context.abort(
                            grpc.StatusCode.DEADLINE_EXCEEDED,
                            f"the request took longer than the server's limit of "
                            f"{self.timeout_s:g} s (--request-timeout)",
                        )
                outcome = "ok"
                return answer
            finally:
                current_principal.reset(token)
                if rule.audit is not None and self.audit is not None:
                    self.audit.submit(rule.audit, principal.id, _model(rule, request) or "",
                                      {"status": outcome, "protocol": "grpc"})

        return behavior

    def _streaming(self, inner: Any, rule: GrpcRule, metadata: Sequence[Any]) -> Any:
        async def behavior(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
            principal = await self._admit(context, rule, metadata, None)
            current_principal.set(principal)  # each RPC runs in its own task
            async for response in inner(self._each_checked(requests, context, rule, principal),
                                        context):
                yield response

        return behavior

    def _unary_stream(self, inner: Any, rule: GrpcRule, metadata: Sequence[Any]) -> Any:
        async def behavior(request: Any, context: Any) -> AsyncIterator[Any]:
            current_principal.set(
                await self._admit(context, rule, metadata, _model(rule, request)))
            async for response in inner(request, context):
                yield response

        return behavior

    def _stream_unary(self, inner: Any, rule: GrpcRule, metadata: Sequence[Any]) -> Any:
        async def behavior(requests: AsyncIterator[Any], context: Any) -> Any:
            principal = await self._admit(context, rule, metadata, None)
            current_principal.set(principal)
            return await inner(self._each_checked(requests, context, rule, principal), context)

        return behavior

    async def _each_checked(
        self, requests: AsyncIterator[Any], context: Any, rule: GrpcRule, principal: Principal
    ) -> AsyncIterator[Any]:
        assert rule.role is not None
        async for request in requests:
            try:
                authorize(principal, rule.role, _model(rule, request), action=rule.action)
            except PermissionDenied as exc:
                self._refused(exc, context, principal)
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, exc.message)
            yield request

    async def _admit(
        self, context: Any, rule: GrpcRule, metadata: Sequence[Any], model: str | None
    ) -> Principal:
        """The authorised principal; aborts the call (raising) otherwise."""
        assert rule.role is not None
        authorization = api_key = None
        for key, value in metadata:
            if key == "authorization" and isinstance(value, str):
                authorization = value
            elif key == "x-api-key" and isinstance(value, str):
                api_key = value
        principal: Principal | None = None
        try:
            principal = await self.authn.authenticate(authorization, api_key)
            authorize(principal, rule.role, model, action=rule.action)
        except (Unauthenticated, PermissionDenied) as exc:
            self._refused(exc, context, principal)
            await context.abort(GRPC_STATUS[exc.kind], exc.message)
        except ModelportError as exc:
            log.error("cannot authenticate a gRPC call: %s", exc.message)
            await context.abort(GRPC_STATUS.get(exc.kind, grpc.StatusCode.INTERNAL), exc.message)
        assert principal is not None
        if self.limiter is not None:
            key = principal.id if principal.method != "anonymous" else f"ip:{_peer(context)}"
            wait = self.limiter.take(key)
            if wait > 0:
                retry = str(max(1, math.ceil(wait)))
                log.warning("rate limited %s on gRPC", key)
                await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                    f"rate limit exceeded for {key}; retry in {retry} s",
                                    trailing_metadata=(("retry-after", retry),))
        return principal

    def _refused(self, exc: ModelportError, context: Any, principal: Principal | None) -> None:
        peer = _peer(context)
        who = principal.id if principal is not None else f"ip:{peer}"
        reason = exc.details.get("reason", exc.message)
        log.warning("refused gRPC call from %s (%s): %s", peer, who, reason)
        action = "auth.failure" if isinstance(exc, Unauthenticated) else "auth.denied"
        if self.audit is not None and self._refusal_audit.take(f"{peer}|{reason}") == 0:
            details = {"reason": reason, "client": peer, "protocol": "grpc"}
            if "key_id" in exc.details:
                details["key_id"] = exc.details["key_id"]
            self.audit.submit(action, who, "", details)


def _model(rule: GrpcRule, request: Any) -> str | None:
    if rule.model_field is None:
        return None
    value = getattr(request, rule.model_field, None)
    return str(value) if value is not None else None


def _peer(context: Any) -> str:
    """``ipv4:10.0.0.1:5000`` -> ``10.0.0.1``."""
    peer = str(context.peer() or "unknown")
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    if kind == "ipv6":
        return rest.rpartition(":")[0].strip("[]")
    return peer
