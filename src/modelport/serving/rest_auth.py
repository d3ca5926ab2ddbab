"""The REST edge of security: an ASGI wrapper around :class:`~modelport.serving.rest.RestApp`.

For each request it finds the requirement (:mod:`modelport.security.policy`), authenticates
(401), authorises (403), applies the per-principal rate limit (429 with ``Retry-After``) and
the request timeout (504), records control-plane calls and refusals in the audit log, and
serves the admin routes under ``/v2/security/``. While authentication is off and no limit
is set, a request costs one attribute check and one ``startswith``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from modelport.errors import ModelportError, PermissionDenied, Unauthenticated
from modelport.protocol.json_codec import encode_error
from modelport.security import policy
from modelport.security.audit_writer import AuditWriter
from modelport.security.authn import Authenticator
from modelport.security.limits import RateLimit, RateLimiter
from modelport.security.policy import SECURITY_PREFIX, Requirement, rest_requirement
from modelport.security.roles import ANONYMOUS, Principal, authorize
from modelport.security.stage import current_principal
from modelport.serving.rest_errors import http_status
from modelport.serving.rest_io import Message, Receive, Scope, Send, send_bytes
from modelport.serving.rest_security import SecurityRoutes

__all__ = ["SecureApp"]

log = logging.getLogger(__name__)

ASGIApp = Any
_WWW_AUTH = [(b"www-authenticate", b'Bearer realm="modelport"')]


class SecureApp:
    """Authentication, RBAC, limits and audit in front of an ASGI app."""

    def __init__(
        self,
        app: ASGIApp,
        authn: Authenticator,
        *,
        rate_limit: RateLimit | None = None,
        timeout_s: float | None = None,
        audit: AuditWriter | None = None,
        routes: SecurityRoutes | None = None,
    ) -> None:
        self.app, self.authn, self.audit, self.routes = app, authn, audit, routes
        self.limiter = RateLimiter(rate_limit) if rate_limit is not None else None
        self.timeout_s = timeout_s
        self._plain = rate_limit is None and timeout_s is None
        # Refusals are audited at most about once a second per client address and reason.
        self._refusal_audit = RateLimiter(RateLimit(per_second=1.0, burst=20))
        self._needs: dict[tuple[str, str], Requirement] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            self._plain and not self.authn.enforcing
            and not scope["path"].startswith(policy.ALWAYS_CHECKED)
        ):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        need = self._needs.get((method, path))
        if need is None:
            if len(self._needs) >= 4096:  # bounded: made-up paths cannot grow it
                self._needs.clear()
            need = self._needs[(method, path)] = rest_requirement(method, path)
        principal: Principal | None = ANONYMOUS
        if need.role is not None:
            try:
                principal = None
                authorization, api_key = _credentials(scope)
                principal = await self.authn.authenticate(authorization, api_key)
                authorize(principal, need.role, need.model, action=need.action)
            except (Unauthenticated, PermissionDenied) as exc:
                self._refused(exc, scope, principal)
                extra = _WWW_AUTH if isinstance(exc, Unauthenticated) else None
                await send_bytes(send, http_status(exc), encode_error(exc.message), extra=extra)
                return
            except ModelportError as exc:  # e.g. the key database is down
                log.error("cannot authenticate %s %s: %s", method, path, exc.message)
                await send_bytes(send, http_status(exc), encode_error(exc.message))
                return
            if self.limiter is not None:
                key = principal.id if principal.method != "anonymous" else f"ip:{_client(scope)}"
                wait = self.limiter.take(key)
                if wait > 0:
                    log.warning("rate limited %s on %s %s", key, method, path)
                    retry = b"%d" % max(1, math.ceil(wait))
                    body = encode_error(
                        f"rate limit exceeded for {key}; retry in {retry.decode()} s"
                    )
                    await send_bytes(send, 429, body, extra=[(b"retry-after", retry)])
                    return
        assert principal is not None
        token = current_principal.set(principal)
        status: list[int] = []
        try:
            if path.startswith(SECURITY_PREFIX) and self.routes is not None:
                await self.routes(scope, receive, send, principal)
                return
            await self._call(scope, receive, _watching(send, status))
        finally:
            current_principal.reset(token)
            if need.audit is not None and self.audit is not None:
                self.audit.submit(need.audit, principal.id, need.model or "",
                                  {"status": status[0] if status else None, "protocol": "rest"})

    async def _call(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.timeout_s is None:
            await self.app(scope, receive, send)
            return
        started: list[int] = []
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.app(scope, receive, _watching(send, started))
        except TimeoutError:
            log.warning("%s %s ran past the %.3g s request timeout", scope["method"],
                        scope["path"], self.timeout_s)
            if not started:
                message = (f"the request took longer than the server's limit of "
                           f"{self.timeout_s:g} s (--request-timeout)")
                await send_bytes(send, 504, encode_error(message))

    def _refused(self, exc: ModelportError, scope: Scope, principal: Principal | None) -> None:
        client = _client(scope)
        who = principal.id if principal is not None else f"ip:{client}"
        reason = exc.details.get("reason", exc.message)
        log.warning("refused %s %s from %s (%s): %s", scope["method"], scope["path"], client,
                    who, reason)
        action = "auth.failure" if isinstance(exc, Unauthenticated) else "auth.denied"
        if self.audit is not None and self._refusal_audit.take(f"{client}|{reason}") == 0:
            details = {"reason": reason, "client": client, "protocol": "rest",
                       "route": f"{scope['method']} {scope['path'][:200]}"}
            if "key_id" in exc.details:
                details["key_id"] = exc.details["key_id"]
            self.audit.submit(action, who, "", details)


def _watching(send: Send, status: list[int]) -> Send:
    async def watched(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        await send(message)

    return watched


def _credentials(scope: Scope) -> tuple[str | None, str | None]:
    authorization = api_key = None
    for key, value in scope["headers"]:
        if key == b"authorization":
            authorization = value.decode("latin-1")
        elif key == b"x-api-key":
            api_key = value.decode("latin-1")
    return authorization, api_key


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
