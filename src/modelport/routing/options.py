"""How a server takes part in routing: polling, flushing, and running the rollout controller."""

from __future__ import annotations

import math
from dataclasses import dataclass

from modelport.errors import InvalidInput

__all__ = ["RoutingOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingOptions:
    """Per-worker routing settings (``modelport serve --routing-poll-interval`` ...)."""

    enabled: bool = True
    """Route endpoints with deployments; off, every request goes to the name it names."""

    poll_interval_s: float = 1.0
    """How often each worker checks the routing revision (a one-row read)."""

    flush_interval_s: float = 1.0
    """How often each worker writes its measurements and heartbeat."""

    controller: bool = True
    """Run the rollout controller in the server (one worker leads, through a lease)."""

    controller_tick_s: float = 1.0
    """How often the leading controller looks at running rollouts."""

    lease_ttl_s: float = 5.0
    """A controller that stops renewing its lease for this long loses the lead."""

    switch_lead_s: float = 1.5
    """A blue-green switch is scheduled this far ahead so every worker flips together."""

    worker_timeout_s: float = 5.0
    """A worker silent for this long no longer counts for blue-green readiness."""

    load_timeout_s: float = 120.0
    """How long a worker tries to load a deployment's version before reporting it failed."""

    stats_retention_s: float = 7 * 24 * 3600.0
    """Per-second measurement rows older than this are deleted by the controller."""

    max_shadow_inflight: int = 64
    """Mirrored requests in flight per worker; beyond it a mirror is skipped and counted."""

    def __post_init__(self) -> None:
        for name in ("poll_interval_s", "flush_interval_s", "controller_tick_s", "lease_ttl_s",
                     "worker_timeout_s", "load_timeout_s", "stats_retention_s"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or math.isnan(value) or value <= 0:
                raise InvalidInput(f"routing {name} must be a number of seconds > 0, "
                                   f"got {value!r}")
        if self.switch_lead_s < 0:
            raise InvalidInput(f"routing switch_lead_s must be >= 0, got {self.switch_lead_s}")
        if self.max_shadow_inflight < 0:
            raise InvalidInput("routing max_shadow_inflight must be >= 0 (0 turns shadows off), "
                               f"got {self.max_shadow_inflight}")
        if self.lease_ttl_s <= self.controller_tick_s:
            raise InvalidInput(
                f"routing lease_ttl_s ({self.lease_ttl_s}) must exceed controller_tick_s "
                f"({self.controller_tick_s}), or the lead changes hands every tick")
