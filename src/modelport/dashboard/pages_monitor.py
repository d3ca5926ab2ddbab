"""Monitoring of one model: drift per feature (with the HTML report's histograms), the data
contract and its violations, feedback performance against the registered baseline, and what
the server's scheduled checks noticed.

The drift check runs on demand (a button), through the same :func:`check_drift` as
``modelport monitor drift``, over the server's inference log.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelport.errors import InvalidInput, NotFound
from modelport.monitoring.contract import Contract
from modelport.monitoring.contract_store import load_contract
from modelport.monitoring.drift_check import DriftReport, check_drift
from modelport.monitoring.drift_html import histogram_svg
from modelport.monitoring.events import Event, list_events
from modelport.monitoring.performance import VersionPerformance, evaluate
from modelport.registry import Registry, VersionInfo
from modelport.registry.tables import utcnow
from modelport.security.durations import parse_duration
from modelport.security.roles import Principal, Role

from .web import ConsoleContext, page

__all__ = ["routes"]

_WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class _Overview:
    versions: list[VersionInfo]
    contract: Contract | None
    performance: list[VersionPerformance]
    events: list[Event]


def routes(ctx: ConsoleContext) -> list[Route]:
    async def monitoring(request: Request, me: Principal, form: dict[str, str]) -> Response:
        registry = ctx.require_registry()
        name = request.path_params["name"]
        params = request.query_params
        since = params.get("since", "1h").strip()
        window = parse_duration(since, option="since")
        overview = await asyncio.to_thread(_overview, registry, name)
        ref = _own(params.get("ref") or _default_ref(overview.versions, name), name)
        report: DriftReport | None = None
        problem: str | None = None
        if params.get("check"):
            if ctx.log_root is None:
                problem = ("this server keeps no inference log (--no-log-requests), so there "
                           "is no live traffic to compare")
            else:
                try:
                    report = await asyncio.to_thread(
                        check_drift, registry, ctx.log_root, ref, window=window,
                        config=ctx.drift, predictions=False)
                except NotFound as exc:
                    problem = exc.message
        return ctx.render(
            request, me, "monitoring.html", name=name, ref=ref, since=since,
            overview=overview, report=report, problem=problem,
            plots=_plots(report), violations=_violations(ctx, name),
        )

    return [Route("/ui/monitoring/{name}", page(ctx, Role.VIEWER, monitoring,
                                                 action="read monitoring", model_param="name"))]


def _own(ref: str, name: str) -> str:
    """Only versions of the page's model (the RBAC check was for ``name``)."""
    if ref != name and not ref.startswith((f"{name}@", f"{name}:")):
        raise InvalidInput(f"ref {ref!r} is not a version of {name!r}; use {name}:N or "
                           f"{name}@ALIAS")
    return ref


def _default_ref(versions: list[VersionInfo], name: str) -> str:
    for info in reversed(versions):
        if "production" in info.aliases:
            return f"{name}@production"
    return name


def _overview(registry: Registry, name: str) -> _Overview:
    versions = registry.list_versions(name)
    baselines = {str(i.version): dict(i.metrics) for i in versions}
    now = utcnow()
    return _Overview(
        versions=versions,
        contract=load_contract(registry.engine, name),
        performance=evaluate(registry.engine, name, baselines, since=now - _WEEK),
        events=list_events(registry.engine, model=name, since=now - _WEEK, limit=20),
    )


def _plots(report: DriftReport | None) -> list[tuple[Any, Markup]]:
    if report is None:
        return []
    # histogram_svg escapes every label itself and uses presentation attributes only.
    return [(f, Markup(histogram_svg(f))) for f in report.features if f.bins]


def _violations(ctx: ConsoleContext, name: str) -> list[tuple[str, str, float]]:
    latest = ctx.traffic.latest if ctx.traffic is not None else None
    if latest is None:
        return []
    return sorted((field, rule, n) for (model, field, rule), n in latest.violations.items()
                  if model == name and n > 0)
