"""An in-process rollout rig: one worker's data plane with routing over a real registry, a
rollout controller, and a clock the test moves by hand."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

from modelport.errors import ModelportError
from modelport.protocol.types import InferenceRequest, Tensor
from modelport.registry import Registry
from modelport.registry.tables import utcnow
from modelport.routing.controller import Controller
from modelport.routing.options import RoutingOptions
from modelport.routing.service import DeploymentService
from modelport.routing.stage import Router
from modelport.routing.sync import RoutingSync
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.pipeline import CallContext
from modelport.serving.registry_source import RegistrySource

from .models import FEATURES, rows

OPTIONS = RoutingOptions(switch_lead_s=0.2, worker_timeout_s=30)


class Clock:
    """Wall-clock time that only moves when told to."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def fraud_request(i: int) -> InferenceRequest:
    data = rows(1, seed=i)
    return InferenceRequest(inputs=[Tensor(name=f, datatype="FP32", data=data[f])
                                    for f in FEATURES])


class Worker:
    """One worker: model manager, routing stage, sync loop (driven by hand)."""

    def __init__(self, registry: Registry, clock: Clock, name: str) -> None:
        self.router = Router()
        self.models = ModelManager(RegistrySource(registry), ManagerConfig(poll_interval_s=0))
        self.plane = DataPlane(self.models, stages=[self.router.stage])
        self.sync = RoutingSync(registry.engine, self.router, self.models, OPTIONS,
                                worker=name, clock=clock)
        self.errors: list[str] = []

    async def traffic(self, n: int, endpoint: str = "fraud") -> Counter[str]:
        """``n`` requests, 25 at a time; versions that answered, and ``error`` per failure."""
        seen: Counter[str] = Counter()

        async def one(i: int) -> str:
            try:
                answer = await self.plane.infer(endpoint, None, fraud_request(i),
                                                CallContext(name=endpoint))
            except ModelportError as exc:
                self.errors.append(exc.message)
                return "error"
            return answer.model_version or "?"

        for start in range(0, n, 25):
            seen.update(await asyncio.gather(*(one(i) for i in range(start, min(n, start + 25)))))
            await self.router.settle()
        return seen

    async def stop(self) -> None:
        await self.router.stop()
        await self.plane.stop()


class Rig:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.clock = Clock()
        self.service = DeploymentService(registry, options=OPTIONS, clock=self.clock)
        self.worker = Worker(registry, self.clock, "w1")
        self.controller = Controller(registry.engine, holder="c1", options=OPTIONS,
                                     clock=self.clock)

    async def interval(self, n: int = 100, seconds: float = 1.0) -> Counter[str]:
        """Pick up the routes, serve ``n`` requests, report them, let ``seconds`` pass, and
        let the controller look."""
        await self.worker.sync.refresh()
        seen = await self.worker.traffic(n)
        await self.worker.sync.flush()
        self.clock.advance(seconds)
        self.controller.tick()
        return seen

    async def stop(self) -> None:
        await self.worker.stop()
