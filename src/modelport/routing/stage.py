"""The routing stage: which version answers a request to an endpoint, and who gets a copy.

For a request to an endpoint with a deployment (and no explicit version), the stage picks an
arm from the current :class:`~modelport.routing.table.RouteTable` (a random draw by weight,
or the hash of the A/B key), points the call at that model version, measures the answer for
the rollout controller and mirrors a share of requests to shadow versions in the background.
Requests to anything else pass straight through.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from functools import partial

from modelport.errors import ErrorKind, ModelportError
from modelport.protocol.types import InferenceRequest, InferenceResponse
from modelport.registry.tables import utcnow
from modelport.routing.collector import Assignment, Collector
from modelport.routing.records import Arm
from modelport.routing.shadow import mirror, pick_output
from modelport.routing.table import Route, RouteTable
from modelport.serving.pipeline import CallContext, Infer

__all__ = ["SERVER_FAULTS", "Router"]

log = logging.getLogger(__name__)

SERVER_FAULTS = frozenset({
    ErrorKind.PREDICTION_FAILED, ErrorKind.UNAVAILABLE, ErrorKind.DEADLINE_EXCEEDED,
    ErrorKind.INTERNAL, ErrorKind.INTEGRITY, ErrorKind.MISSING_DEPENDENCY,
})
"""Error kinds counted against a version; the caller's own mistakes (bad input) are not."""


class Router:
    """One worker's routing: the table the sync loop swaps in, the measurements it flushes.

    ``router.stage`` is the pipeline :data:`~modelport.serving.pipeline.Stage`.
    """

    def __init__(self, *, max_shadow_inflight: int = 64) -> None:
        self.table = RouteTable()
        """Replaced whole (never mutated) by :class:`~modelport.routing.sync.RoutingSync`."""
        self.collector = Collector()
        self.max_shadow_inflight = max_shadow_inflight
        self._shadows: set[asyncio.Task[None]] = set()

    def stage(self, inner: Infer) -> Infer:
        """Wrap ``inner`` with routing."""

        async def infer(ctx: CallContext, request: InferenceRequest) -> InferenceResponse:
            if ctx.version is not None:
                return await inner(ctx, request)
            route = self.table.routes.get(ctx.name)
            if route is None:
                return await inner(ctx, request)
            return await self._routed(inner, route, ctx, request)

        return infer

    async def _routed(self, inner: Infer, route: Route, ctx: CallContext,
                      request: InferenceRequest) -> InferenceResponse:
        key = route.sticky_key(ctx.headers, request.parameters) if route.sticky else None
        arm = route.pick(key)
        ctx.target = arm.model
        ctx.version = str(arm.version)
        if route.assign and request.id is None:
            request.id = uuid.uuid4().hex  # outcomes are reported against it
        primary: asyncio.Future[tuple[InferenceResponse, float] | None] | None = None
        if route.shadows and (route.shadow_share >= 1.0 or random.random() < route.shadow_share):
            primary = asyncio.get_running_loop().create_future()
            self._mirror(inner, route, ctx, request, primary)
        start = time.perf_counter()
        try:
            response = await inner(ctx, request)
        except asyncio.CancelledError:
            if primary is not None:
                primary.set_result(None)
            raise
        except Exception as exc:
            self._failed(route, arm, exc, (time.perf_counter() - start) * 1000.0)
            if primary is not None:
                primary.set_result(None)
            raise
        latency_ms = (time.perf_counter() - start) * 1000.0
        if route.measure:
            counts = self.collector.primary(
                (route.deployment_id, route.step, arm.model, arm.version, arm.role))
            counts.requests += 1
            counts.latency.add(latency_ms)
        if route.analyze or route.assign:
            tensor = pick_output(response, route.compare_output)
            if route.analyze and tensor is not None:
                self.collector.primary((route.deployment_id, route.step, arm.model,
                                        arm.version, arm.role)).predictions.add(tensor)
            if route.assign and request.id is not None:
                first = tensor.data.ravel()[:1].tolist() if tensor is not None else []
                self.collector.assign(Assignment(
                    route.deployment_id, request.id, arm.model, arm.version, arm.role,
                    str(first[0]) if first else None, utcnow()))
        if primary is not None:
            primary.set_result((response, latency_ms))
        ctx.notes["model_version"] = response.model_version
        return response

    def _failed(self, route: Route, arm: Arm, exc: Exception, latency_ms: float) -> None:
        if not route.measure:
            return
        counts = self.collector.primary(
            (route.deployment_id, route.step, arm.model, arm.version, arm.role))
        counts.requests += 1
        counts.latency.add(latency_ms)
        if not isinstance(exc, ModelportError) or exc.kind in SERVER_FAULTS:
            counts.errors += 1

    def _mirror(self, inner: Infer, route: Route, ctx: CallContext, request: InferenceRequest,
                primary: asyncio.Future[tuple[InferenceResponse, float] | None]) -> None:
        for target in route.shadows:
            key = (route.deployment_id, target.model, target.version)
            if len(self._shadows) >= self.max_shadow_inflight:
                self.collector.shadow(key).skipped += 1
                continue
            shadow_ctx = CallContext(
                name=target.model, version=str(target.version), protocol=ctx.protocol,
                headers=ctx.headers, principal=ctx.principal,
                notes={"shadow": True, "endpoint": route.endpoint},
            )
            task = asyncio.create_task(mirror(
                inner, shadow_ctx, request, primary,
                partial(self.collector.shadow, key),
                timeout_s=route.shadow_timeout_s, output=route.compare_output,
            ))
            self._shadows.add(task)
            task.add_done_callback(self._shadow_done)

    def _shadow_done(self, task: asyncio.Task[None]) -> None:
        self._shadows.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("shadow comparison failed", exc_info=task.exception())

    async def settle(self, timeout_s: float = 5.0) -> None:
        """Wait (up to ``timeout_s``) for the mirrored requests in flight to finish."""
        if self._shadows:
            await asyncio.wait(list(self._shadows), timeout=timeout_s)

    async def stop(self) -> None:
        """Cancel mirrored requests still running (their answers were never needed)."""
        for task in list(self._shadows):
            task.cancel()
        await asyncio.gather(*self._shadows, return_exceptions=True)
