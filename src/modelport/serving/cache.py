"""An optional prediction cache: a repeated input returns the stored answer.

Keys hold the model version and the exact input bytes (with names, dtypes and shapes), so a
hot swap never returns an answer from the previous version and two inputs that merely hash
alike never collide. Entries expire after ``ttl_s`` and the least recently used are evicted
beyond ``max_entries``.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from modelport.errors import InvalidInput
from modelport.runtimes.base import Array, Batch

__all__ = ["CachePolicy", "CacheStats", "PredictionCache"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CachePolicy:
    """How many answers to keep, and for how long."""

    max_entries: int = 1024
    """Least-recently-used entries beyond this count are evicted."""

    ttl_s: float = 60.0
    """An entry older than this is a miss."""

    def __post_init__(self) -> None:
        if type(self.max_entries) is not int or self.max_entries < 1:
            raise InvalidInput(
                f"cache max_entries must be an integer >= 1, got {self.max_entries!r}; "
                "to turn the cache off, give no cache policy at all"
            )
        ttl = self.ttl_s
        if not isinstance(ttl, int | float) or math.isnan(ttl) or ttl <= 0:
            raise InvalidInput(
                f"cache ttl_s must be a number of seconds > 0, got {ttl!r}; "
                "use float('inf') to keep entries until they are evicted"
            )


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits: int
    misses: int
    entries: int


class PredictionCache:
    """LRU with TTL from (model version, input bytes) to outputs. One event loop uses it."""

    def __init__(
        self, policy: CachePolicy | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or CachePolicy()
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, dict[str, Array]]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def stats(self) -> CacheStats:
        return CacheStats(self.hits, self.misses, len(self._entries))

    @staticmethod
    def key(version: str, inputs: Batch) -> Hashable:
        """The cache key of ``inputs`` for one model version."""
        return (version, *((n, a.dtype.str, a.shape, a.tobytes()) for n, a in inputs.items()))

    def get(self, key: Hashable) -> dict[str, Array] | None:
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        expires, outputs = found
        if self._clock() >= expires:
            del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return outputs

    def put(self, key: Hashable, outputs: dict[str, Array]) -> None:
        entries = self._entries
        entries[key] = (self._clock() + self.policy.ttl_s, outputs)
        entries.move_to_end(key)
        while len(entries) > self.policy.max_entries:
            entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
