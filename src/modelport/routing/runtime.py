"""Routing inside one server worker: the pipeline stage, the sync loop, the controller, and the
feedback handler, built and started together by the worker (the composition root)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import Engine

from modelport.registry import Registry
from modelport.routing.controller import Controller
from modelport.routing.feedback import parse_feedback, record_outcomes
from modelport.routing.options import RoutingOptions
from modelport.routing.stage import Router
from modelport.routing.sync import RoutingSync, worker_name
from modelport.serving.models import ModelManager
from modelport.serving.pipeline import Stage

__all__ = ["RoutingRuntime"]


class RoutingRuntime:
    """Everything one worker needs to route endpoints by the deployments in ``engine``."""

    def __init__(self, engine: Engine, options: RoutingOptions | None = None, *,
                 worker: str | None = None) -> None:
        self.engine = engine
        self.options = options or RoutingOptions()
        self.worker = worker or worker_name()
        self.router = Router(max_shadow_inflight=self.options.max_shadow_inflight)
        self.sync: RoutingSync | None = None
        self._controller: asyncio.Task[None] | None = None

    @classmethod
    def for_source(cls, source: object, options: RoutingOptions) -> RoutingRuntime | None:
        """Routing for a server whose models come from a registry; None when routing is off
        or the source has no registry (models defined in Python)."""
        registry = getattr(source, "registry", None)
        if not options.enabled or not isinstance(registry, Registry):
            return None
        return cls(registry.engine, options)

    @property
    def stage(self) -> Stage:
        """The pipeline stage; place it outside validation and the core."""
        return self.router.stage

    async def start(self, models: ModelManager) -> None:
        """Apply the current routes (loading their versions) and start polling; start the
        controller when this server runs one."""
        self.sync = RoutingSync(self.engine, self.router, models, self.options,
                                worker=self.worker)
        await self.sync.start()
        if self.options.controller:
            controller = Controller(self.engine, holder=self.worker, options=self.options)
            self._controller = asyncio.create_task(controller.run())

    async def stop(self) -> None:
        if self._controller is not None:
            self._controller.cancel()
            await asyncio.gather(self._controller, return_exceptions=True)
        if self.sync is not None:
            await self.sync.stop()

    async def feedback(self, endpoint: str, body: bytes) -> dict[str, Any]:
        """``POST /v2/models/{endpoint}/feedback``: store A/B outcomes by request id."""
        outcomes = parse_feedback(body)
        accepted = await asyncio.to_thread(record_outcomes, self.engine, endpoint, outcomes)
        return {"accepted": accepted}
