"""The console's plumbing: what every page shares (context, templates, headers, the role check).

Pages are server-rendered Jinja2 templates with autoescaping on, so every model name, card
line, tag and actor reaches the browser as text, never as markup. Each response carries a
strict Content-Security-Policy: scripts and styles only from ``/ui/static``, nothing inline,
no framing, forms only to this origin.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from modelport.errors import ModelportError, PermissionDenied, Unavailable
from modelport.monitoring.config import DriftConfig
from modelport.registry import Registry
from modelport.security.audit import append_audit
from modelport.security.authn import Authenticator
from modelport.security.roles import Principal, Role, authorize
from modelport.serving.rest_errors import http_status

from .session import BadForm, check_csrf, csrf_token, open_mode, read_form, remember, who
from .traffic import TrafficHistory

__all__ = ["CSP", "ConsoleContext", "Handler", "page"]

log = logging.getLogger(__name__)

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}

Handler = Callable[[Request, Principal, dict[str, str]], Awaitable[Response]]
"""(request, principal, form fields for a POST) -> response."""


@dataclass(kw_only=True)
class ConsoleContext:
    """Everything the pages read from; built once per worker (or per ``modelport ui``)."""

    registry: Registry | None
    authn: Authenticator | None
    traffic: TrafficHistory | None = None
    log_root: str | None = None
    drift: DriftConfig = field(default_factory=DriftConfig)
    secure_cookies: bool = False
    templates: jinja2.Environment = field(default_factory=lambda: _environment())

    def require_registry(self) -> Registry:
        if self.registry is None:
            raise Unavailable("this server serves models defined in Python, not a "
                                 "registry; the console needs one (modelport serve REF ...)")
        return self.registry

    def render(self, request: Request, principal: Principal | None, template: str, *,
               status: int = 200, **values: Any) -> Response:
        html = self.templates.get_template(template).render(
            me=principal, csrf=csrf_token(request), path=request.url.path,
            open_mode=open_mode(self.authn), may=_may(principal), **values)
        response = HTMLResponse(html, status_code=status, headers=HEADERS)
        return remember(request, response, secure=self.secure_cookies)

    def error(self, request: Request, principal: Principal | None, status: int,
              message: str) -> Response:
        return self.render(request, principal, "error.html", status=status, status_code=status,
                           message=message)

    async def audit(self, action: str, actor: str, target: str = "",
                    details: dict[str, Any] | None = None) -> None:
        """Append to the registry's audit log (the same chain the CLI and API write)."""
        if self.registry is None:
            return
        engine = self.registry.engine
        try:
            await asyncio.to_thread(append_audit, engine, action=action, actor=actor,
                                    target=target, details=details)
        except ModelportError as exc:
            log.error("console could not write audit row %s: %s", action, exc.message)


def _may(principal: Principal | None) -> Callable[[str, str | None], bool]:
    """``may('deployer', 'fraud')`` in templates: whether a button is shown at all."""

    def check(role: str, model: str | None = None) -> bool:
        if principal is None:
            return False
        try:
            authorize(principal, Role.parse(role), model)
        except PermissionDenied:
            return False
        return True

    return check


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("modelport.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M:%S") if d else "-"
    env.filters["num"] = _num
    env.filters["url"] = lambda s: quote(str(s), safe="")
    return env


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:.4g}"
    return str(value)


def page(ctx: ConsoleContext, role: Role, handler: Handler, *, action: str,
         model_param: str | None = None) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint: log-in check, the RBAC check (audited when refused), CSRF for
    POSTs, and errors as pages with the status the REST API would answer."""

    async def endpoint(request: Request) -> Response:
        try:
            return await checked(request)
        except ModelportError as exc:  # e.g. the key database is down
            log.error("console cannot answer %s %s: %s", request.method, request.url.path,
                      exc.message)
            return ctx.error(request, None, http_status(exc), exc.message)
        except Exception as exc:
            log.exception("unexpected error answering %s %s", request.method, request.url.path)
            return ctx.error(request, None, 500, f"internal error: {type(exc).__name__}")

    async def checked(request: Request) -> Response:
        principal = await who(request, ctx.authn)
        if principal is None:
            if request.method == "GET" and "x-console-refresh" not in request.headers:
                target = quote(request.url.path + (f"?{request.url.query}"
                                                   if request.url.query else ""), safe="")
                return RedirectResponse(f"/ui/login?next={target}", 303, headers=HEADERS)
            return ctx.error(request, None, 401, "log in first: your session ended")
        model = request.path_params.get(model_param) if model_param else None
        try:
            authorize(principal, role, model, action=action)
        except PermissionDenied as exc:
            log.warning("console refused %s %s to %s: %s", request.method, request.url.path,
                        principal.id, exc.message)
            await ctx.audit("auth.denied", principal.id, model or "", {
                "reason": exc.message, "protocol": "console",
                "client": request.client.host if request.client else "unknown",
                "route": f"{request.method} {request.url.path[:200]}"})
            return ctx.error(request, principal, 403, exc.message)
        try:
            form: dict[str, str] = {}
            if request.method == "POST":
                form = await read_form(request)
                check_csrf(request, form)
            return await handler(request, principal, form)
        except BadForm as exc:
            return ctx.error(request, principal, 403, str(exc))
        except ModelportError as exc:
            return ctx.error(request, principal, http_status(exc), exc.message)

    return endpoint
