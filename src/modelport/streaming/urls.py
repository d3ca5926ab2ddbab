"""Stream addresses as users type them, parsed once at the edge into small value objects.

    redis://host:6379/0?stream=transactions&group=scorer     a Redis stream (and consumer group)
    kafka://broker:9092/transactions?group=scorer             a Kafka topic (and consumer group)

Every mistake names the part that is wrong and shows a URL that would work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from modelport.errors import InvalidInput

__all__ = [
    "Endpoint",
    "KafkaEndpoint",
    "RedisEndpoint",
    "Role",
    "dead_letter_for",
    "parse_endpoint",
]

Role = Literal["source", "sink", "status"]

_REDIS_EXAMPLE = "redis://localhost:6379/0?stream=transactions&group=scorer"
_KAFKA_EXAMPLE = "kafka://broker:9092/transactions?group=scorer"
_REDIS_PARAMS: dict[Role, tuple[str, ...]] = {
    "source": ("stream", "group", "start"),
    "sink": ("stream", "maxlen", "dedup_ttl"),
    "status": ("stream", "group"),
}
_KAFKA_PARAMS: dict[Role, tuple[str, ...]] = {
    "source": ("group", "assignment", "session_timeout_ms"),
    "sink": ("dedup",),
    "status": ("group",),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisEndpoint:
    """One Redis stream, and for a source the consumer group reading it."""

    url: str
    """Connection URL without the query: ``redis://host:port/db``."""
    stream: str
    group: str | None = None
    start: str = "0"
    """Where a newly created group starts: ``0`` (the whole stream) or ``$`` (new entries)."""
    maxlen: int | None = None
    """Sink only: trim the stream to about this many entries."""
    dedup_ttl_s: int = 86_400
    """Sink only: how long an input id is remembered so a replay is not written twice."""

    def __str__(self) -> str:
        group = f"&group={self.group}" if self.group else ""
        return f"{self.url}?stream={self.stream}{group}"

    def same_stream(self, other: Endpoint) -> bool:
        return isinstance(other, RedisEndpoint) and (self.url, self.stream) == (
            other.url,
            other.stream,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class KafkaEndpoint:
    """One Kafka topic, and for a source the consumer group reading it."""

    bootstrap: str
    """Comma-separated ``host:port`` brokers."""
    topic: str
    group: str | None = None
    assignment: Literal["group", "manual"] = "group"
    """``group``: partitions shared by the group's members; ``manual``: this scorer takes all."""
    session_timeout_ms: int | None = None
    """Source only: how soon the group gives a silent member's partitions to the others."""
    dedup: bool = False
    """Sink only: read the topic's keys back and skip records whose input id is already there."""

    def __str__(self) -> str:
        group = f"?group={self.group}" if self.group else ""
        return f"kafka://{self.bootstrap}/{self.topic}{group}"

    def same_stream(self, other: Endpoint) -> bool:
        return isinstance(other, KafkaEndpoint) and (self.bootstrap, self.topic) == (
            other.bootstrap,
            other.topic,
        )


Endpoint = RedisEndpoint | KafkaEndpoint


def parse_endpoint(url: str, *, role: Role) -> Endpoint:
    """Parse a ``redis://`` or ``kafka://`` URL for use as a source, a sink or for status."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(f"a stream URL is required, e.g. {_REDIS_EXAMPLE} or {_KAFKA_EXAMPLE}")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme in ("redis", "rediss"):
        return _redis(url, role)
    if scheme == "kafka":
        return _kafka(url, role)
    raise InvalidInput(
        f"unsupported stream URL {url!r}: use redis://... or kafka://..., "
        f"e.g. {_REDIS_EXAMPLE} or {_KAFKA_EXAMPLE}"
    )


def dead_letter_for(source: Endpoint) -> Endpoint:
    """The default dead-letter stream or topic beside a source: ``<name>.dead-letter``."""
    if isinstance(source, RedisEndpoint):
        return RedisEndpoint(url=source.url, stream=f"{source.stream}.dead-letter")
    return KafkaEndpoint(bootstrap=source.bootstrap, topic=f"{source.topic}.dead-letter")


def _query(url: str, query: str, allowed: tuple[str, ...], example: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        if key not in allowed:
            known = ", ".join(allowed) or "none"
            raise InvalidInput(
                f"stream URL {url!r}: unknown parameter {key!r} here; allowed: {known} "
                f"(e.g. {example})"
            )
        if len(values) != 1 or not values[0].strip():
            raise InvalidInput(f"stream URL {url!r}: give {key}= exactly once, with a value")
        out[key] = values[0].strip()
    return out


def _redis(url: str, role: Role) -> RedisEndpoint:
    parts = urlsplit(url.strip())
    params = _query(url, parts.query, _REDIS_PARAMS[role], _REDIS_EXAMPLE)
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput(f"Redis URL {url!r}: the port must be a number") from None
    if not parts.hostname:
        raise InvalidInput(f"Redis URL {url!r} names no host; e.g. {_REDIS_EXAMPLE}")
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise InvalidInput(
            f"Redis URL {url!r}: the path is the database number, got {db!r}; "
            f"put the stream name in ?stream=, e.g. {_REDIS_EXAMPLE}"
        )
    stream = params.get("stream")
    if not stream:
        raise InvalidInput(
            f"Redis URL {url!r} names no stream: add ?stream=NAME, e.g. {_REDIS_EXAMPLE}"
        )
    group = params.get("group")
    if role == "source" and not group:
        raise InvalidInput(
            f"Redis source {url!r} names no consumer group: add &group=NAME, e.g. {_REDIS_EXAMPLE}"
        )
    start = params.get("start", "0")
    if start not in ("0", "$"):
        raise InvalidInput(
            f"Redis URL {url!r}: start must be 0 (read the whole stream) or $ (only new "
            f"entries), got {start!r}"
        )
    netloc = parts.netloc if port else f"{parts.netloc}:6379"
    return RedisEndpoint(
        url=f"{parts.scheme.lower()}://{netloc}/{int(db)}",
        stream=stream,
        group=group,
        start=start,
        maxlen=_positive(url, params, "maxlen", None),
        dedup_ttl_s=_positive(url, params, "dedup_ttl", 86_400, zero_ok=True) or 0,
    )


def _kafka(url: str, role: Role) -> KafkaEndpoint:
    parts = urlsplit(url.strip())
    params = _query(url, parts.query, _KAFKA_PARAMS[role], _KAFKA_EXAMPLE)
    if not parts.netloc or "@" in parts.netloc:
        raise InvalidInput(f"Kafka URL {url!r} names no broker host:port; e.g. {_KAFKA_EXAMPLE}")
    brokers = []
    for broker in parts.netloc.split(","):
        host, sep, port = broker.rpartition(":")
        if not sep:
            host, port = broker, "9092"
        if not host or not port.isdigit():
            raise InvalidInput(
                f"Kafka URL {url!r}: broker {broker!r} must be host:port, e.g. {_KAFKA_EXAMPLE}"
            )
        brokers.append(f"{host}:{port}")
    topic = parts.path.strip("/")
    if not topic or "/" in topic:
        raise InvalidInput(
            f"Kafka URL {url!r}: the path must be exactly one topic name, e.g. {_KAFKA_EXAMPLE}"
        )
    group = params.get("group")
    if role in ("source", "status") and not group:
        raise InvalidInput(
            f"Kafka URL {url!r} names no consumer group: add ?group=NAME, e.g. {_KAFKA_EXAMPLE}"
        )
    assignment = params.get("assignment", "group")
    if assignment not in ("group", "manual"):
        raise InvalidInput(
            f"Kafka URL {url!r}: assignment must be 'group' (partitions shared by the group) "
            f"or 'manual' (this scorer reads every partition), got {assignment!r}"
        )
    dedup = params.get("dedup", "false").lower()
    if dedup not in ("true", "false"):
        raise InvalidInput(
            f"Kafka URL {url!r}: dedup must be true (skip input ids already in the topic) or "
            f"false, got {params['dedup']!r}"
        )
    return KafkaEndpoint(
        bootstrap=",".join(brokers),
        topic=topic,
        group=group,
        assignment="manual" if assignment == "manual" else "group",
        session_timeout_ms=_positive(url, params, "session_timeout_ms", None),
        dedup=dedup == "true",
    )


def _positive(
    url: str, params: dict[str, str], key: str, default: int | None, *, zero_ok: bool = False
) -> int | None:
    raw = params.get(key)
    if raw is None:
        return default
    floor = 0 if zero_ok else 1
    if not raw.isdigit() or int(raw) < floor:
        raise InvalidInput(
            f"stream URL {url!r}: {key} must be a whole number >= {floor}, got {raw!r}"
        )
    return int(raw)
