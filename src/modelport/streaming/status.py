"""``modelport stream status``: how a consumer group is doing, read from the broker itself.

Nothing here talks to a running scorer: lag, pending entries and committed offsets live in
Redis (``XINFO``) or Kafka (committed offsets), so status works even while no scorer runs.
Throughput is measured by sampling twice, ``window_s`` apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from modelport.streaming.urls import Endpoint, KafkaEndpoint, RedisEndpoint, dead_letter_for

__all__ = ["ConsumerStatus", "GroupStatus", "stream_status"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerStatus:
    """One consumer of a group (Redis only: Kafka keeps no per-consumer pending list)."""

    name: str
    pending: int
    idle_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupStatus:
    """One consumer group on one stream or topic."""

    stream: str
    group: str
    length: int | None
    """Entries (Redis) or end offset (Kafka) of the source."""
    lag: int | None
    """Entries not yet delivered to (Redis) or not yet committed by (Kafka) the group."""
    pending: int | None
    """Delivered but unacknowledged entries (Redis); None for Kafka."""
    throughput: float | None
    """Entries completed per second over the sampling window."""
    dead_letters: int | None
    """Entries in the dead-letter stream or topic."""
    sink_length: int | None = None
    consumers: tuple[ConsumerStatus, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def stream_status(
    source: Endpoint,
    *,
    sink: Endpoint | None = None,
    dead_letter: Endpoint | None = None,
    window_s: float = 1.0,
) -> list[GroupStatus]:
    """The status of every group on ``source`` (or only its ``group`` when it names one)."""
    dead = dead_letter or dead_letter_for(source)
    if isinstance(source, RedisEndpoint):
        from modelport.streaming.redis_backend import redis_status

        return await redis_status(
            source,
            sink=sink if isinstance(sink, RedisEndpoint) else None,
            dead_letter=dead if isinstance(dead, RedisEndpoint) else None,
            window_s=window_s,
        )
    from modelport.streaming.kafka_backend import kafka_status

    assert isinstance(source, KafkaEndpoint)
    return await kafka_status(
        source,
        sink=sink if isinstance(sink, KafkaEndpoint) else None,
        dead_letter=dead if isinstance(dead, KafkaEndpoint) else None,
        window_s=window_s,
    )
