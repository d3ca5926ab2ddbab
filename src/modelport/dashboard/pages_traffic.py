"""Traffic: requests/s, error rate, p50/p99 latency and batch size per model and version,
live (the last five minutes, refreshing) or over the last hour, from :class:`TrafficHistory`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelport.errors import InvalidInput
from modelport.security.roles import Principal, Role

from .charts import Chart, line_chart
from .traffic import Point, TrafficHistory
from .web import ConsoleContext, page

__all__ = ["WINDOWS", "routes"]

WINDOWS = {"live": 300.0, "hour": 3600.0}

_METRICS: list[tuple[str, str, Callable[[Point], float | None]]] = [
    ("requests/s", "", lambda p: p.rps),
    ("error rate", "%", lambda p: None if p.error_rate is None else p.error_rate * 100),
    ("p50 latency", " ms", lambda p: p.p50_ms),
    ("p99 latency", " ms", lambda p: p.p99_ms),
    ("batch size", " rows", lambda p: p.batch_rows),
]


def routes(ctx: ConsoleContext) -> list[Route]:
    async def traffic(request: Request, me: Principal, form: dict[str, str]) -> Response:
        window = request.query_params.get("window", "live")
        if window not in WINDOWS:
            raise InvalidInput(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")
        models = charts(ctx.traffic, WINDOWS[window], allowed=me.models)
        return ctx.render(request, me, "traffic.html", window=window, models=models,
                          sampling=ctx.traffic is not None,
                          interval=ctx.traffic.interval_s if ctx.traffic else 0)

    return [Route("/ui/traffic", page(ctx, Role.VIEWER, traffic, action="read metrics"))]


def charts(history: TrafficHistory | None, last_s: float, *,
           allowed: frozenset[str] | None = None) -> list[tuple[str, list[Chart]]]:
    """Per model, one chart per metric with a line per version."""
    if history is None:
        return []
    series = history.series(last_s)
    end = history.latest.at if history.latest else time.time()
    start = max(end - last_s, history.first.at if history.first else end - last_s)
    by_model: dict[str, list[tuple[str, list[Point]]]] = {}
    for (model, version), points in sorted(series.items()):
        if not model or (allowed is not None and model not in allowed):
            continue
        by_model.setdefault(model, []).append((f"version {version or '?'}", points))
    out = []
    for model, versions in by_model.items():
        out.append((model, [
            line_chart(title, unit, [(label, [(p.at, pick(p)) for p in pts])
                                     for label, pts in versions], start=start, end=end)
            for title, unit, pick in _METRICS
        ]))
    return out
