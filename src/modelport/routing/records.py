"""Plain values describing deployments, as read from and written to the registry database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from modelport.routing.spec import DeploymentSpec

__all__ = [
    "ACTIVE",
    "Arm",
    "DeploymentRecord",
    "Event",
    "GateRecord",
    "Status",
    "Target",
]


class Status(StrEnum):
    RUNNING = "running"
    """Rolling out (canary stepping, blue-green waiting to switch, A/B test collecting)."""
    PAUSED = "paused"
    """Held by a person or a failed gate with ``on_failure: pause``; weights stay as they are."""
    PROMOTED = "promoted"
    """The candidate takes all traffic."""
    ROLLED_BACK = "rolled_back"
    """The stable version takes all traffic again."""


ACTIVE = frozenset({Status.RUNNING, Status.PAUSED})
"""A deployment in one of these states blocks another rollout on its endpoint."""


@dataclass(frozen=True, slots=True, order=True)
class Target:
    """One model version, as ``fraud:4``."""

    model: str
    version: int

    def __str__(self) -> str:
        return f"{self.model}:{self.version}"


@dataclass(frozen=True, slots=True)
class Arm:
    """One version's share of an endpoint's traffic."""

    model: str
    version: int
    weight: float
    """Percent of requests."""
    role: str
    """``stable`` or ``candidate``."""

    @property
    def target(self) -> Target:
        return Target(self.model, self.version)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "weight": self.weight,
                "role": self.role}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Arm:
        return cls(str(data["model"]), int(data["version"]), float(data["weight"]),
                   str(data["role"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentRecord:
    """One applied deployment and where its rollout stands."""

    id: int
    endpoint: str
    strategy: str
    status: Status
    spec: DeploymentSpec
    stable: Target
    candidate: Target
    weights: tuple[Arm, ...]
    shadows: tuple[Target, ...]
    step: int
    """Index into ``spec.canary.steps`` (canary only)."""
    step_started_at: datetime
    effective_at: datetime
    """When workers switch to ``weights`` (a blue-green switch is scheduled a moment ahead)."""
    switch_requested: bool
    reason: str | None
    revision: int
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def weight_of(self, role: str) -> float:
        return sum(a.weight for a in self.weights if a.role == role)

    def describe_step(self) -> str:
        """``step 2 of 4 (25%)`` for a canary, else the strategy; a finished rollout says how
        it ended, not the step it was on."""
        if self.status is Status.PROMOTED:
            return f"finished: promoted, {self.candidate} takes all traffic"
        if self.status is Status.ROLLED_BACK:
            return f"finished: rolled back, {self.stable} takes all traffic"
        if self.strategy == "canary" and self.spec.canary is not None:
            steps = self.spec.canary.steps
            return f"step {self.step + 1} of {len(steps)} ({steps[self.step]}%)"
        return self.strategy

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "strategy": self.strategy,
            "status": self.status.value,
            "stable": str(self.stable),
            "candidate": str(self.candidate),
            "weights": [a.to_dict() for a in self.weights],
            "shadows": [str(s) for s in self.shadows],
            "step": self.step,
            "step_started_at": self.step_started_at.isoformat(),
            "effective_at": self.effective_at.isoformat(),
            "reason": self.reason,
            "revision": self.revision,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "spec": self.spec.model_dump(mode="json", exclude_none=True),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One line of a deployment's history."""

    at: datetime
    actor: str
    action: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "actor": self.actor, "action": self.action,
                "detail": self.detail, "data": self.data}


@dataclass(frozen=True, slots=True, kw_only=True)
class GateRecord:
    """One analysis of a canary interval."""

    step: int
    at: datetime
    verdict: str
    """``pass``, ``fail`` or ``wait`` (too little data yet)."""
    readings: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "at": self.at.isoformat(), "verdict": self.verdict,
                "readings": self.readings}
