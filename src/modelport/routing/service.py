"""Deployments as the CLI (and any other client) sees them: apply, look, and steer.

Everything is a short transaction on the registry database; running servers notice within a
poll interval and the controller in the server carries the rollout on.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from modelport.errors import NotFound
from modelport.registry import Registry, db
from modelport.registry.tables import utcnow
from modelport.routing import abtest, stats_store, store, transitions
from modelport.routing.controller import Controller
from modelport.routing.options import RoutingOptions
from modelport.routing.plan import DeploymentPlan, plan_deployment
from modelport.routing.records import DeploymentRecord, Event, GateRecord
from modelport.routing.stats import ShadowCounts, VersionCounts
from modelport.routing.stats_store import WorkerState

__all__ = ["DeploymentService", "DeploymentStatus"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentStatus:
    """Everything ``deploy status`` shows."""

    deployment: DeploymentRecord
    events: list[Event]
    gates: list[GateRecord]
    live: dict[str, VersionCounts]
    """This step's measurements so far, per role."""
    shadows: dict[str, ShadowCounts]
    workers: list[WorkerState] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment.to_dict(),
            "live": {role: {"requests": c.requests, "errors": c.errors,
                            "error_rate": c.error_rate,
                            "p99_latency_ms": c.latency.quantile(0.99)}
                     for role, c in self.live.items()},
            "gates": [g.to_dict() for g in self.gates],
            "shadows": {target: c.to_dict() for target, c in self.shadows.items()},
            "workers": [w.to_dict() for w in self.workers],
            "history": [e.to_dict() for e in self.events],
        }


class DeploymentService:
    """Deployments stored in ``registry``'s database."""

    def __init__(self, registry: Registry, *, options: RoutingOptions | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.registry = registry
        self.engine = registry.engine
        self.options = options or RoutingOptions()
        self.clock = clock

    def plan(self, text: str, *, label: str = "deployment file") -> DeploymentPlan:
        """Check a deployment file against the registry without changing anything."""
        return plan_deployment(self.registry, text, label=label)

    def apply(self, text: str, *, actor: str, label: str = "deployment file"
              ) -> DeploymentRecord:
        """Start the rollout a deployment file describes."""
        return transitions.apply(self.engine, self.plan(text, label=label), actor=actor,
                                 now=self.clock())

    def get(self, endpoint: str) -> DeploymentRecord:
        with db.transaction(self.engine) as conn:
            record = store.current(conn, endpoint)
        if record is None:
            raise NotFound(self._none(endpoint))
        return record

    def list(self) -> list[DeploymentRecord]:
        """The newest deployment of every endpoint."""
        with db.transaction(self.engine) as conn:
            return store.current_all(conn)

    def history(self, endpoint: str, *, limit: int = 20) -> builtins.list[DeploymentRecord]:
        """The endpoint's deployments, newest first: how each rollout ended."""
        with db.transaction(self.engine) as conn:
            return store.recent(conn, endpoint, limit=limit)

    def status(self, endpoint: str) -> DeploymentStatus:
        now = self.clock()
        with db.transaction(self.engine) as conn:
            record = store.current(conn, endpoint)
            if record is None:
                raise NotFound(self._none(endpoint))
            alive = now - timedelta(seconds=self.options.worker_timeout_s)
            return DeploymentStatus(
                deployment=record,
                events=store.events(conn, record.id),
                gates=store.gates(conn, record.id),
                live=stats_store.step_counts(conn, record.id, record.step),
                shadows={str(k): v for k, v in
                         stats_store.shadow_totals(conn, record.id).items()},
                workers=stats_store.workers(conn, alive_since=alive),
            )

    def promote(self, endpoint: str, *, actor: str) -> DeploymentRecord:
        """All traffic to the candidate now (blue-green: as soon as its slot is ready)."""
        record = transitions.change(self.engine, endpoint, transitions.promote, actor=actor,
                                    audit="deploy.promote", now=self.clock())
        if record.strategy == "blue-green" and record.active:
            controller = Controller(self.engine, holder=f"cli:{actor}", options=self.options,
                                    clock=self.clock)
            controller.consider(record)
            return self.get(endpoint)
        return record

    def pause(self, endpoint: str, *, actor: str) -> DeploymentRecord:
        return transitions.change(self.engine, endpoint, transitions.pause, actor=actor,
                                  audit="deploy.pause", now=self.clock())

    def resume(self, endpoint: str, *, actor: str) -> DeploymentRecord:
        return transitions.change(self.engine, endpoint, transitions.resume, actor=actor,
                                  audit="deploy.resume", now=self.clock())

    def rollback(self, endpoint: str, *, actor: str, reason: str = "") -> DeploymentRecord:
        return transitions.rollback(self.engine, endpoint, actor=actor, reason=reason,
                                    now=self.clock())

    def ab_report(self, endpoint: str, *, confidence: float = 0.95) -> abtest.ABReport:
        return abtest.ab_report(self.engine, endpoint, confidence=confidence)

    @staticmethod
    def _none(endpoint: str) -> str:
        return (f"endpoint {endpoint!r} has no deployment; apply one with "
                "'modelport deploy apply -f FILE', or see 'modelport deploy list'")
