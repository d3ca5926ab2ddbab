"""Admin routes under ``/v2/security/``: who am I, API keys, the audit log.

    GET    /v2/security/whoami            the caller's principal (viewer)
    GET    /v2/security/keys              list keys (admin)
    POST   /v2/security/keys              {"name", "role", "models"?, "expires"?} -> the key, once
    DELETE /v2/security/keys/{key_id}     revoke (admin)
    GET    /v2/security/audit?since=1d&actor=alice&action=model.&limit=100   (admin)
    POST   /v2/security/approvals         {"model", "version", "note"}: approve (approver)

The middleware has already authorised the caller; these handlers only translate.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

import orjson
from sqlalchemy.engine import Engine

from modelport.errors import InvalidInput, ModelportError, NotFound
from modelport.protocol.json_codec import encode_error
from modelport.registry.tables import utcnow
from modelport.security.audit import list_audit
from modelport.security.durations import parse_duration
from modelport.security.keys import KeyStore
from modelport.security.roles import Principal
from modelport.serving.rest_errors import http_status
from modelport.serving.rest_io import Receive, RequestHeaders, Scope, Send, read_body, send_bytes

__all__ = ["SecurityRoutes"]

_PREFIX = "/v2/security/"
_MAX_BODY = 64 * 1024


class SecurityRoutes:
    """Serves the admin routes; ``engine`` None answers 503 for keys and audit."""

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine
        self.keys = KeyStore(engine) if engine is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send, who: Principal) -> None:
        method, rest = scope["method"], scope["path"][len(_PREFIX):]
        try:
            if rest == "whoami" and method == "GET":
                answer: Any = _whoami(who)
            elif rest == "keys" and method == "GET":
                store = self._store()
                now = utcnow()
                answer = [k.to_dict(now) for k in await asyncio.to_thread(store.list)]
            elif rest == "keys" and method == "POST":
                body = await read_body(receive, RequestHeaders(scope), _MAX_BODY)
                answer = await asyncio.to_thread(self._create, body, who)
            elif rest.startswith("keys/") and method == "DELETE":
                store = self._store()
                record = await asyncio.to_thread(store.revoke, rest[5:], actor=who.id)
                answer = record.to_dict()
            elif rest == "audit" and method == "GET":
                answer = await asyncio.to_thread(self._audit, scope)
            elif rest == "approvals" and method == "POST":
                body = await read_body(receive, RequestHeaders(scope), _MAX_BODY)
                answer = await asyncio.to_thread(self._approve, body, who)
            else:
                raise NotFound(f"no route {method} {scope['path']}; see /docs")
        except ModelportError as exc:
            await send_bytes(send, http_status(exc), encode_error(exc.message))
            return
        await send_bytes(send, 200, orjson.dumps(answer))

    def _store(self) -> KeyStore:
        if self.keys is None:
            raise NotFound("this server has no registry database, so no API keys or audit log")
        return self.keys

    def _create(self, body: bytes, who: Principal) -> dict[str, Any]:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"body is not valid JSON: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("name"), str) or not isinstance(
            doc.get("role"), str
        ):
            raise InvalidInput('send {"name": "checkout", "role": "predictor", '
                               '"models": ["fraud"], "expires": "90d"}')
        expires = doc.get("expires")
        new = self._store().create(
            name=doc["name"], role=doc["role"], actor=who.id, models=doc.get("models"),
            expires_in=parse_duration(expires, option="expires") if expires else None,
        )
        return {"key": new.token, **new.record.to_dict()}

    def _approve(self, body: bytes, who: Principal) -> dict[str, Any]:
        from modelport.governance.approval import approve, parse_approval
        from modelport.registry import Registry
        from modelport.registry.store import ArtifactStore

        self._store()
        assert self.engine is not None
        model, version, note = parse_approval(body)
        registry = Registry(self.engine, ArtifactStore("memory://approvals"))  # rows only
        return approve(registry, model, version, note, who).to_dict()

    def _audit(self, scope: Scope) -> list[dict[str, Any]]:
        if self.engine is None:
            self._store()
        assert self.engine is not None
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        since = utcnow() - parse_duration(query["since"], option="since") if "since" in query \
            else None
        try:
            limit = int(query.get("limit", "1000"))
        except ValueError:
            raise InvalidInput(f"limit must be a whole number, got {query['limit']!r}") from None
        entries = list_audit(self.engine, since=since, actor=query.get("actor"),
                             action=query.get("action"), limit=limit)
        return [e.to_dict() for e in entries]


def _whoami(who: Principal) -> dict[str, Any]:
    return {
        "id": who.id, "name": who.name, "role": who.role.label, "method": who.method,
        "models": sorted(who.models) if who.models is not None else None,
    }
