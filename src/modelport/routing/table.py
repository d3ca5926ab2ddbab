"""The routing table: an immutable snapshot of every endpoint's split, swapped whole.

Workers read it on every request, so choosing a version is one dict lookup and one random
draw (or one hash of the sticky key), with no lock and no database access.
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate

from modelport.routing.records import Arm, DeploymentRecord, Status, Target

__all__ = ["Route", "RouteTable", "hash_unit", "route_for"]


def hash_unit(salt: str, key: str) -> float:
    """A stable number in [0, 1) for ``key``: the same key always gets the same arm."""
    digest = hashlib.blake2b(key.encode(), digest_size=8, person=salt.encode()[:16]).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """How one endpoint's requests are answered right now."""

    endpoint: str
    deployment_id: int
    strategy: str
    step: int
    arms: tuple[Arm, ...]
    """Versions with a share of traffic (weight > 0)."""
    standby: tuple[Target, ...] = ()
    """Versions kept loaded without traffic (a blue-green slot waiting to go live)."""
    sticky: tuple[str, str] | None = None
    """(``header`` or ``parameter``, name) of the A/B key."""
    shadows: tuple[Target, ...] = ()
    shadow_share: float = 0.0
    """Fraction of requests mirrored to each shadow, 0..1."""
    shadow_timeout_s: float = 5.0
    measure: bool = True
    """Count requests, errors and latency per version (canary and A/B, while in progress)."""
    analyze: bool = False
    """Collect prediction distributions (a canary's gates compare them)."""
    compare_output: str | None = None
    assign: bool = False
    """Record which arm answered each request id (A/B outcomes join on it)."""
    _cumulative: tuple[float, ...] = field(default=(), repr=False)
    _salt: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_cumulative", tuple(accumulate(a.weight for a in self.arms)))
        object.__setattr__(self, "_salt", f"mp{self.deployment_id}")

    def pick(self, key: str | None = None) -> Arm:
        """The arm for one request: by the sticky ``key``'s hash when given, else at random."""
        arms = self.arms
        if len(arms) == 1:
            return arms[0]
        total = self._cumulative[-1]
        draw = (hash_unit(self._salt, key) if key is not None else random.random()) * total
        return arms[min(bisect_right(self._cumulative, draw), len(arms) - 1)]

    def sticky_key(self, headers: Mapping[str, str], parameters: Mapping[str, object]
                   ) -> str | None:
        if self.sticky is None:
            return None
        where, name = self.sticky
        value = headers.get(name) if where == "header" else parameters.get(name)
        return None if value is None else str(value)

    def targets(self) -> set[Target]:
        """Every version this route needs loaded."""
        return {a.target for a in self.arms} | set(self.standby) | set(self.shadows)


def route_for(record: DeploymentRecord) -> Route:
    """The route a deployment's current state asks for."""
    spec = record.spec
    arms = tuple(a for a in record.weights if a.weight > 0)
    standby: tuple[Target, ...] = ()
    if record.strategy == "blue-green" and record.status in (Status.RUNNING, Status.PAUSED):
        standby = (record.candidate,)
    elif record.status is Status.PROMOTED and record.strategy == "blue-green":
        standby = (record.stable,)  # kept warm: a rollback is instant
    sticky = None
    if spec.ab is not None or record.strategy == "ab":
        where, _, name = (spec.ab.sticky_key if spec.ab else "header:x-ab-key").partition(":")
        sticky = (where, name)
    active = record.status in (Status.RUNNING, Status.PAUSED)
    return Route(
        endpoint=record.endpoint,
        deployment_id=record.id,
        strategy=record.strategy,
        step=record.step,
        arms=arms,
        standby=standby,
        sticky=sticky,
        shadows=record.shadows if active else (),
        shadow_share=spec.shadow_share / 100.0,
        shadow_timeout_s=spec.shadow_timeout_s,
        measure=active and record.strategy != "blue-green",
        analyze=active and record.strategy == "canary",
        compare_output=spec.canary.compare_output if spec.canary else None,
        assign=active and record.strategy == "ab",
    )


class RouteTable:
    """Endpoint name -> :class:`Route`; never mutated, replaced whole by the sync loop."""

    __slots__ = ("revision", "routes")

    def __init__(self, routes: Iterable[Route] = (), *, revision: int = 0) -> None:
        self.routes: dict[str, Route] = {r.endpoint: r for r in routes}
        self.revision = revision

    def get(self, endpoint: str) -> Route | None:
        return self.routes.get(endpoint)

    def targets(self) -> set[Target]:
        out: set[Target] = set()
        for route in self.routes.values():
            out |= route.targets()
        return out
