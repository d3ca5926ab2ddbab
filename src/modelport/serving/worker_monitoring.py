"""Monitoring for one worker, assembled from a :class:`MonitoringConfig`.

The worker (the composition root) asks this one object for each piece: the two pipeline
stages (``observe`` outermost, ``validate`` after auth and routing), the observer the model
manager reports loads and batches to, the ``/metrics`` route, the feedback handler, and the
background work (inference log writer, contract refreshes, the drift and performance
schedule). Contracts, feedback and the schedule need the registry database; a server of
models defined in Python gets metrics and the inference log only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from modelport.errors import ModelportError, NotFound
from modelport.monitoring.config import MonitoringConfig
from modelport.monitoring.contract import Contract
from modelport.monitoring.contract_store import ensure_contract, load_contract
from modelport.monitoring.feedback import FeedbackStore, parse_feedback
from modelport.monitoring.monitor import Monitor
from modelport.monitoring.scheduler import Scheduler
from modelport.monitoring.webhooks import Alerter
from modelport.registry import ModelRef, Registry
from modelport.security import policy
from modelport.security.roles import Role
from modelport.serving.models import ModelManager
from modelport.serving.pipeline import Stage
from modelport.serving.rest_metrics import METRICS_PATH, MetricsRoute

__all__ = ["FeedbackHandler", "WorkerMonitoring"]

log = logging.getLogger(__name__)

FeedbackHandler = Callable[[str, bytes], Awaitable[dict[str, Any]]]

_RULES: list[str] = []


def _allow_viewers_to_scrape() -> None:
    """Prometheus scrapes with a viewer's credentials once authentication is on."""
    if not _RULES:
        policy.add_rest_rule(METRICS_PATH, Role.VIEWER, method="GET", action="read metrics")
        _RULES.append(METRICS_PATH)


class WorkerMonitoring:
    """Everything monitoring contributes to one worker; build it after the fork."""

    def __init__(self, config: MonitoringConfig, source: object) -> None:
        self.config = config
        found = getattr(source, "registry", None)
        self.registry: Registry | None = found if isinstance(found, Registry) else None
        loader = self._load_contract if self.registry is not None else None
        self.monitor = Monitor.create(config, contract_loader=loader)
        metrics = self.monitor.metrics
        self.feedback_store: FeedbackStore | None = None
        self.scheduler: Scheduler | None = None
        self._models: ModelManager | None = None
        if self.registry is not None:
            self.feedback_store = FeedbackStore(
                self.registry.engine, config.log.root,
                on_result=lambda model, result, n: metrics.feedback.labels(model, result).inc(n),
            )
            alerter = Alerter(config.alerts, on_result=lambda kind, ok: metrics.webhooks.labels(
                kind, "delivered" if ok else "failed").inc())
            self.scheduler = Scheduler(self.registry, config, self._served, metrics=metrics,
                                       alerter=alerter)

    # -- pieces for the worker ---------------------------------------------------------------

    @property
    def observe(self) -> Stage:
        """Outermost stage: metrics, request ids, the inference log."""
        return self.monitor.observe

    @property
    def validate(self) -> Stage:
        """The data contract check; place it after security and routing."""
        return self.monitor.validate

    def wrap_rest(self, app: Any) -> Any:
        """The REST app with ``GET /metrics`` in front (when metrics are on)."""
        if not self.config.metrics:
            return app
        _allow_viewers_to_scrape()
        return MetricsRoute(app, self.monitor.metrics.render)

    def feedback(self, routing: FeedbackHandler | None = None) -> FeedbackHandler | None:
        """``POST /v2/models/{name}/feedback``: labels for monitoring, and the same body to
        routing's A/B outcomes when there is routing."""
        store = self.feedback_store
        if store is None:
            return routing

        async def handle(name: str, body: bytes) -> dict[str, Any]:
            items = parse_feedback(body)
            stored = await asyncio.to_thread(store.submit, name, items)
            answer: dict[str, Any] = {"accepted": stored}
            if routing is not None:
                try:
                    outcomes = await routing(name, body)
                except ModelportError as exc:
                    if not stored:
                        raise
                    if not isinstance(exc, NotFound):  # NotFound: no A/B deployment here
                        answer["outcomes_error"] = exc.message
                else:
                    answer["outcomes"] = outcomes.get("accepted", 0)
                    answer["accepted"] = max(stored, answer["outcomes"])
            return answer

        return handle

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, models: ModelManager) -> None:
        self._models = models
        self.monitor.start()
        if self.scheduler is not None:
            self.scheduler.start()

    async def close(self) -> None:
        """After the data plane stopped: the last log records are written here."""
        if self.scheduler is not None:
            await self.scheduler.close()
        await self.monitor.close()

    # -- helpers -----------------------------------------------------------------------------

    def _load_contract(self, model: str, version: str | None) -> Contract | None:
        registry = self.registry
        assert registry is not None
        if version is None or not version.isdigit():
            return load_contract(registry.engine, model)
        return ensure_contract(registry, registry.resolve(ModelRef(model, version=int(version))))

    async def _served(self) -> list[tuple[str, str]]:
        models = self._models
        if models is None:
            return []
        return [(name, version) for name in await models.names()
                for version in models.versions(name)]
