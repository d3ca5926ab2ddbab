"""Deployments: every endpoint's routing, the canary's step and gate readings, the history,
and promote / rollback / pause / resume behind a confirmation page.

Actions call :class:`~modelport.routing.service.DeploymentService`, the object behind
``modelport deploy``: the same transitions, the same ``deploy.*`` audit rows, with the
logged-in principal as the actor. Showing the buttons needs ``deployer``; so does the POST,
checked again on the server.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from modelport.errors import NotFound
from modelport.routing.records import DeploymentRecord
from modelport.routing.service import DeploymentService, DeploymentStatus
from modelport.security.roles import Principal, Role

from .web import HEADERS, ConsoleContext, page

__all__ = ["ACTIONS", "routes"]

ACTIONS: dict[str, str] = {
    "promote": "send all traffic to the candidate now",
    "rollback": "send all traffic back to the stable version now",
    "pause": "hold the rollout at its current weights",
    "resume": "carry the paused rollout on",
}


def routes(ctx: ConsoleContext) -> list[Route]:
    def service() -> DeploymentService:
        return DeploymentService(ctx.require_registry())

    async def index(request: Request, me: Principal, form: dict[str, str]) -> Response:
        records = await asyncio.to_thread(service().list)
        visible = [r for r in records if me.models is None or r.endpoint in me.models]
        return ctx.render(request, me, "deployments.html", records=visible)

    async def detail(request: Request, me: Principal, form: dict[str, str]) -> Response:
        endpoint = request.path_params["endpoint"]
        svc = service()
        found: DeploymentStatus = await asyncio.to_thread(svc.status, endpoint)
        earlier = await asyncio.to_thread(svc.history, endpoint)
        report = None
        if found.deployment.strategy == "ab":
            report = await asyncio.to_thread(svc.ab_report, endpoint)
        return ctx.render(request, me, "deployment.html", found=found, d=found.deployment,
                          gates=_gate_rows(found), live=_live_rows(found),
                          actions=_actions(found.deployment), earlier=earlier[1:],
                          ab=report)

    async def confirm(request: Request, me: Principal, form: dict[str, str]) -> Response:
        endpoint, action = request.path_params["endpoint"], request.path_params["action"]
        _check_action(action)
        record = await asyncio.to_thread(service().get, endpoint)
        return ctx.render(request, me, "confirm.html", d=record, action=action,
                          meaning=ACTIONS[action])

    async def act(request: Request, me: Principal, form: dict[str, str]) -> Response:
        endpoint, action = request.path_params["endpoint"], request.path_params["action"]
        _check_action(action)
        svc = service()
        if action == "rollback":
            reason = form.get("reason", "").strip()[:500] or "from the console"
            await asyncio.to_thread(svc.rollback, endpoint, actor=me.id, reason=reason)
        else:
            await asyncio.to_thread(getattr(svc, action), endpoint, actor=me.id)
        return RedirectResponse(f"/ui/deployments/{quote(endpoint, safe='')}", 303,
                                headers=HEADERS)

    deployer = {"action": "steer rollouts", "model_param": "endpoint"}
    return [
        Route("/ui/deployments", page(ctx, Role.VIEWER, index, action="list deployments")),
        Route("/ui/deployments/{endpoint}",
              page(ctx, Role.VIEWER, detail, action="read deployments", model_param="endpoint")),
        Route("/ui/deployments/{endpoint}/{action}", page(ctx, Role.DEPLOYER, confirm, **deployer),
              methods=["GET"]),
        Route("/ui/deployments/{endpoint}/{action}", page(ctx, Role.DEPLOYER, act, **deployer),
              methods=["POST"]),
    ]


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise NotFound(f"no deployment action {action!r}; choose one of: {', '.join(ACTIONS)}")


def _actions(record: DeploymentRecord) -> list[str]:
    """The buttons that make sense in this state."""
    if not record.active:
        return []
    out = ["promote", "rollback"]
    out.append("resume" if record.status.value == "paused" else "pause")
    return out


def _gate_rows(found: DeploymentStatus) -> list[dict[str, Any]]:
    """The newest reading of each gate: live value against its limit."""
    if not found.gates:
        return []
    latest = found.gates[-1]
    return [{"step": latest.step + 1, "at": latest.at, "verdict": latest.verdict,
             "gate": r.get("gate", "?"), "candidate": r.get("candidate"),
             "stable": r.get("stable"), "limit": r.get("limit"), "ok": r.get("ok")}
            for r in latest.readings]


def _live_rows(found: DeploymentStatus) -> list[dict[str, Any]]:
    return [{"role": role, "requests": c.requests, "errors": c.errors,
             "error_rate": c.error_rate, "p99": c.latency.quantile(0.99)}
            for role, c in sorted(found.live.items())]
