"""The one interface every stream backend implements: a source of messages, a sink of records.

The scorer only ever talks to these two shapes, so Redis Streams and Kafka (and a test's slow
sink) plug in the same way. Everything is async; a backend whose client blocks runs it in a
thread of its own. Backends translate their client's connection errors into ``Unavailable``
where they enter, so the scorer can retry without knowing which client failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Backlog", "Message", "Record", "Sink", "Source"]


@dataclass(frozen=True, slots=True)
class Message:
    """One event read from a source."""

    id: str
    """The input id the output carries: a Redis entry id, or a Kafka key or ``partition:offset``."""
    payload: bytes | None
    """The raw JSON document; None when the entry has no such field."""
    event_ms: int | None
    """When the event entered the stream (ms since the epoch), for end-to-end latency."""
    token: object
    """The backend's handle for acknowledging this message."""


@dataclass(frozen=True, slots=True)
class Record:
    """One record for a sink: the input id it answers, and the JSON document to write."""

    id: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Backlog:
    """How far behind a consumer group is."""

    lag: int | None
    """Entries in the stream not yet delivered to the group (None when unknown)."""
    pending: int
    """Entries delivered but not yet acknowledged or committed."""


class Source(Protocol):
    """Where events come from; a message is gone only once :meth:`ack` returned."""

    async def open(self) -> None:
        """Connect, and create the consumer group if it is missing."""
        ...

    async def read(self, max_count: int, block_ms: int) -> list[Message]:
        """Up to ``max_count`` messages, waiting at most ``block_ms`` when none is ready."""
        ...

    async def ack(self, messages: Sequence[Message]) -> None:
        """Mark messages as done; call only after their results are in the sink."""
        ...

    async def backlog(self) -> Backlog:
        """Lag and pending count of this consumer group (for metrics)."""
        ...

    async def close(self) -> None: ...


class Sink(Protocol):
    """Where results (or dead letters) go."""

    async def open(self) -> None: ...

    async def write(self, records: Sequence[Record]) -> int:
        """Write ``records`` durably; returns how many were new (replays may be skipped)."""
        ...

    async def close(self) -> None: ...
