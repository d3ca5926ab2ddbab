"""Request limits: a token bucket per principal, and a cap on concurrent requests per model.

Both count per worker process: with N workers a principal may get up to N times its rate
when its connections land on different workers. Deadlines use ``time.monotonic``.
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from modelport.errors import InvalidInput

__all__ = ["ConcurrencyCap", "RateLimit", "RateLimiter"]

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*"
                   r"(?::\s*(\d+))?\s*$")
_PER = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0,
        "h": 3600.0, "hour": 3600.0}
_MAX_BUCKETS = 50_000


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimit:
    """``per_second`` tokens flow in; at most ``burst`` can be spent at once."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise InvalidInput(
                f"a rate limit needs a positive rate and a burst >= 1, got {self.per_second}/s "
                f"burst {self.burst}"
            )

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """``100/s``, ``600/m``, ``10/s:50`` (burst 50); burst defaults to one second's worth."""
        match = _RATE.match(text or "")
        if match is None:
            raise InvalidInput(
                f"--rate-limit {text!r} must look like 100/s, 600/m or 10/s:50 "
                "(requests per second, minute or hour, optionally :burst)"
            )
        per_second = float(match.group(1)) / _PER[match.group(2)]
        burst = int(match.group(3)) if match.group(3) else max(1, math.ceil(per_second))
        return cls(per_second=per_second, burst=burst)


class RateLimiter:
    """Token buckets by key (a principal id, or a client address for anonymous callers)."""

    def __init__(self, limit: RateLimit, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0.0 when the request may go; otherwise the seconds to wait before retrying."""
        now = self._clock()
        rate, burst = self.limit.per_second, float(self.limit.burst)
        tokens, last = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens >= 1.0:
            self._store(key, tokens - 1.0, now)
            return 0.0
        self._store(key, tokens, now)
        return (1.0 - tokens) / rate

    def _store(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        if len(self._buckets) > _MAX_BUCKETS:  # the oldest idle bucket is full by now anyway
            self._buckets.popitem(last=False)


class ConcurrencyCap:
    """At most ``limit`` requests in flight per model; one more is refused, never queued."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise InvalidInput(f"--max-concurrency-per-model must be >= 1, got {limit}")
        self.limit = limit
        self._in_flight: dict[str, int] = {}

    def enter(self, model: str) -> bool:
        count = self._in_flight.get(model, 0)
        if count >= self.limit:
            return False
        self._in_flight[model] = count + 1
        return True

    def leave(self, model: str) -> None:
        count = self._in_flight.get(model, 0) - 1
        if count <= 0:
            self._in_flight.pop(model, None)
        else:
            self._in_flight[model] = count

    def in_flight(self, model: str) -> int:
        return self._in_flight.get(model, 0)
