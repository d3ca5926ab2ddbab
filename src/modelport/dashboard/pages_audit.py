"""Audit: the log with filters (since, actor, action prefix), and whether the chain holds.

Admins only, like ``GET /v2/security/audit``; reads through the same :func:`list_audit` and
:func:`verify_audit` as ``modelport audit``.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelport.errors import InvalidInput
from modelport.registry.tables import utcnow
from modelport.security.audit import list_audit, verify_audit
from modelport.security.durations import parse_duration
from modelport.security.roles import Principal, Role

from .web import ConsoleContext, page

__all__ = ["routes"]


def routes(ctx: ConsoleContext) -> list[Route]:
    async def audit(request: Request, me: Principal, form: dict[str, str]) -> Response:
        engine = ctx.require_registry().engine
        params = request.query_params
        since = params.get("since", "").strip()
        actor = params.get("actor", "").strip() or None
        action = params.get("action", "").strip() or None
        raw = params.get("limit", "200").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 5000:
            raise InvalidInput(f"limit must be a whole number from 1 to 5000, got {raw!r}")
        start = utcnow() - parse_duration(since, option="since") if since else None
        entries = await asyncio.to_thread(list_audit, engine, since=start, actor=actor,
                                          action=action, limit=int(raw))
        report = await asyncio.to_thread(verify_audit, engine)
        return ctx.render(request, me, "audit.html", entries=list(reversed(entries)),
                          report=report, since=since, actor=actor or "", action=action or "",
                          limit=raw)

    return [Route("/ui/audit", page(ctx, Role.ADMIN, audit, action="read the audit log"))]
