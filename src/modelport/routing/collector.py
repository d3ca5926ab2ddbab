"""Per-worker accumulation of routing measurements between two flushes to the database.

Everything here runs on the worker's event loop: the routing stage adds, the sync loop
drains (one swap of the dictionaries), so no lock is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from modelport.registry.tables import utcnow
from modelport.routing.stats import ShadowCounts, VersionCounts

__all__ = ["Assignment", "Collector", "PrimaryKey", "ShadowKey", "Window"]

PrimaryKey = tuple[int, int, str, int, str]
"""(deployment id, step, model, version, role)."""

ShadowKey = tuple[int, str, int]
"""(deployment id, model, version)."""

MAX_ASSIGNMENTS = 100_000
"""A/B assignments kept while the database is unreachable; beyond it they are dropped."""


@dataclass(frozen=True, slots=True)
class Assignment:
    deployment_id: int
    request_id: str
    model: str
    version: int
    arm: str
    prediction: str | None
    at: datetime


@dataclass(slots=True)
class Window:
    """Everything measured between ``start`` and ``end``."""

    start: datetime
    end: datetime
    primary: dict[PrimaryKey, VersionCounts] = field(default_factory=dict)
    shadow: dict[ShadowKey, ShadowCounts] = field(default_factory=dict)
    assignments: list[Assignment] = field(default_factory=list)
    dropped_assignments: int = 0

    @property
    def empty(self) -> bool:
        return not (self.primary or self.shadow or self.assignments)


class Collector:
    """Counts for the current window; :meth:`drain` hands them over and starts a new one."""

    def __init__(self) -> None:
        self._window = Window(start=utcnow(), end=utcnow())

    def primary(self, key: PrimaryKey) -> VersionCounts:
        counts = self._window.primary.get(key)
        if counts is None:
            counts = self._window.primary[key] = VersionCounts()
        return counts

    def shadow(self, key: ShadowKey) -> ShadowCounts:
        counts = self._window.shadow.get(key)
        if counts is None:
            counts = self._window.shadow[key] = ShadowCounts()
        return counts

    def assign(self, assignment: Assignment) -> None:
        window = self._window
        if len(window.assignments) >= MAX_ASSIGNMENTS:
            window.dropped_assignments += 1
            return
        window.assignments.append(assignment)

    def drain(self) -> Window:
        """The window so far (ending now); counting goes on in a fresh one."""
        now = utcnow()
        window, self._window = self._window, Window(start=now, end=now)
        window.end = now
        return window

    def restore(self, window: Window) -> None:
        """Put back a window that could not be written, to try again with the next flush."""
        current = self._window
        current.start = min(current.start, window.start)
        for key, counts in window.primary.items():
            self.primary(key).merge(counts)
        for skey, scounts in window.shadow.items():
            self.shadow(skey).merge(scounts)
        room = MAX_ASSIGNMENTS - len(current.assignments)
        current.assignments[:0] = window.assignments[:room]
        current.dropped_assignments += window.dropped_assignments + max(
            0, len(window.assignments) - room)
