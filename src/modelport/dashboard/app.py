"""The console as one ASGI app under ``/ui``, and :func:`mount` to put it in front of another.

Why server-rendered HTML and one small script: every page is a view of registry rows the
server already reads, so rendering them where they are keeps one source of truth, one RBAC
check per request, and no client-side state to leak; Jinja2 escapes by default. The script
(a few dozen lines) only refreshes marked parts of a page every few seconds by fetching the
page again. No framework, no build step, no CDN: the whole front end is two files in the
package, well under 300 KB.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route, Router

from modelport.errors import Unauthenticated
from modelport.security.roles import Principal

from . import pages_audit, pages_deploy, pages_models, pages_monitor, pages_traffic
from .session import (
    BadForm,
    check_csrf,
    clear_session,
    login,
    open_mode,
    read_form,
    set_session,
    who,
)
from .web import HEADERS, ConsoleContext

__all__ = ["PREFIX", "Console", "mount"]

PREFIX = "/ui"
_STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".svg": "image/svg+xml"}

ASGIApp = Any


class Console:
    """Answers every path under ``/ui``."""

    def __init__(self, ctx: ConsoleContext) -> None:
        self.ctx = ctx
        self._static = _load_static()
        self.router = Router(routes=[
            Route("/ui", self._home), Route("/ui/", self._home),
            Route("/ui/login", self._login_page, methods=["GET"]),
            Route("/ui/login", self._login, methods=["POST"]),
            Route("/ui/logout", self._logout, methods=["POST"]),
            Route("/ui/static/{file}", self._file),
            *pages_models.routes(ctx), *pages_deploy.routes(ctx), *pages_traffic.routes(ctx),
            *pages_monitor.routes(ctx), *pages_audit.routes(ctx),
        ], default=self._missing)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.router(scope, receive, send)

    # -- pages that need no login ------------------------------------------------------------

    async def _home(self, request: Request) -> Response:
        return RedirectResponse("/ui/models", 303, headers=HEADERS)

    async def _login_page(self, request: Request) -> Response:
        if open_mode(self.ctx.authn):
            return RedirectResponse("/ui/models", 303, headers=HEADERS)
        me = await who(request, self.ctx.authn)
        return self.ctx.render(request, me, "login.html", next=_next(request), message=None)

    async def _login(self, request: Request) -> Response:
        ctx = self.ctx
        try:
            form = await read_form(request)
            check_csrf(request, form)
        except BadForm as exc:
            return ctx.error(request, None, 403, str(exc))
        target = _safe_next(form.get("next", ""))
        if open_mode(ctx.authn):
            return RedirectResponse(target, 303, headers=HEADERS)
        assert ctx.authn is not None
        try:
            principal: Principal = await login(ctx.authn, form.get("token", ""))
        except Unauthenticated as exc:
            client = request.client.host if request.client else "unknown"
            await ctx.audit("auth.failure", f"ip:{client}", "", {
                "reason": exc.details.get("reason", exc.message), "client": client,
                "protocol": "console", "route": "POST /ui/login"})
            return ctx.render(request, None, "login.html", status=401, next=target,
                              message=f"not logged in: {exc.message}")
        response = RedirectResponse(target, 303, headers=HEADERS)
        set_session(response, form["token"], secure=ctx.secure_cookies)
        await ctx.audit("console.login", principal.id, "", {"role": principal.role.label})
        return response

    async def _logout(self, request: Request) -> Response:
        try:
            check_csrf(request, await read_form(request))
        except BadForm as exc:
            return self.ctx.error(request, None, 403, str(exc))
        response = RedirectResponse("/ui/login", 303, headers=HEADERS)
        clear_session(response, secure=self.ctx.secure_cookies)
        return response

    async def _file(self, request: Request) -> Response:
        found = self._static.get(request.path_params["file"])
        if found is None:
            return await self._not_found(request)
        body, kind, etag = found
        headers = {**HEADERS, "cache-control": "public, max-age=300", "etag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=kind, headers=headers)

    async def _not_found(self, request: Request) -> Response:
        me = await who(request, self.ctx.authn)
        return self.ctx.error(request, me, 404,
                              f"no console page at {request.url.path}; start at /ui/models")

    async def _missing(self, scope: Any, receive: Any, send: Any) -> None:
        response = await self._not_found(Request(scope, receive))
        await response(scope, receive, send)


def mount(app: ASGIApp, console: Console) -> ASGIApp:
    """``app`` with ``console`` answering ``/ui`` and everything under it."""

    async def mounted(scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == PREFIX or path.startswith(PREFIX + "/"):
            await console(scope, receive, send)
        else:
            await app(scope, receive, send)

    return mounted


def _next(request: Request) -> str:
    return _safe_next(request.query_params.get("next", ""))


def _safe_next(target: str) -> str:
    """Only console paths: a login link must not send anyone to another site."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/ui/") or "\\" in target:
        return "/ui/models"
    return target


def _load_static() -> dict[str, tuple[bytes, str, str]]:
    out: dict[str, tuple[bytes, str, str]] = {}
    folder = resources.files("modelport.dashboard") / "static"
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in _STATIC_TYPES:
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            out[entry.name] = (body, _STATIC_TYPES[suffix], etag)
    return out
