"""Redis Streams: a consumer-group source and an idempotent sink (redis-py asyncio).

The source reads in three phases, so nothing read is ever lost: first the entries this
consumer had read and not acknowledged before it stopped (its name is stable across
restarts), then entries of other consumers idle longer than ``claim_idle_ms`` (XAUTOCLAIM:
their consumer died), then new entries (``XREADGROUP >``). Claiming repeats periodically.

The sink writes each record with one Lua script that sets a dedup key per input id (SET NX
with a TTL) and appends to the stream only when the key was new, so a replayed batch is
never written twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis import exceptions as rexc

from modelport.errors import InvalidInput, Unavailable
from modelport.streaming.base import Backlog, Message, Record
from modelport.streaming.status import ConsumerStatus, GroupStatus
from modelport.streaming.urls import RedisEndpoint

__all__ = ["RedisSink", "RedisSource", "redis_status"]

log = logging.getLogger(__name__)

_WRITE = """
local ttl = tonumber(ARGV[1])
local maxlen = tonumber(ARGV[2])
local field = ARGV[3]
local prefix = ARGV[4]
local items = cjson.decode(ARGV[5])
local written = 0
for i = 1, #items, 2 do
  local id = items[i]
  if ttl == 0 or redis.call('SET', prefix .. id, '1', 'NX', 'EX', ttl) then
    if maxlen > 0 then
      redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'id', id, field, items[i + 1])
    else
      redis.call('XADD', KEYS[1], '*', 'id', id, field, items[i + 1])
    end
    written = written + 1
  end
end
return written
"""


@asynccontextmanager
async def _translated(endpoint: RedisEndpoint) -> AsyncIterator[None]:
    """Redis client errors as our errors: a broker that is down is ``Unavailable``."""
    try:
        yield
    except (rexc.ConnectionError, rexc.TimeoutError, rexc.BusyLoadingError, OSError) as exc:
        raise Unavailable(f"Redis at {endpoint.url} is unreachable: {exc}") from exc
    except rexc.ResponseError as exc:
        if str(exc).startswith("WRONGTYPE"):
            raise InvalidInput(
                f"Redis key {endpoint.stream!r} at {endpoint.url} is not a stream; "
                "pick another stream name"
            ) from exc
        raise Unavailable(f"Redis at {endpoint.url} refused a command: {exc}") from exc


def _client(endpoint: RedisEndpoint) -> aioredis.Redis:
    return aioredis.Redis.from_url(endpoint.url, decode_responses=False)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisSource:
    """A Redis stream read by one named consumer of a consumer group."""

    def __init__(
        self,
        endpoint: RedisEndpoint,
        *,
        consumer: str,
        field: str = "data",
        claim_idle_ms: int = 30_000,
    ) -> None:
        if not endpoint.group:
            raise InvalidInput(f"Redis source {endpoint} needs a consumer group (&group=NAME)")
        if not consumer:
            raise InvalidInput("a Redis consumer needs a non-empty name (--consumer)")
        if claim_idle_ms < 0:
            raise InvalidInput(f"claim idle time must be >= 0 ms, got {claim_idle_ms}")
        self.endpoint = endpoint
        self.group: str = endpoint.group
        self.consumer = consumer
        self._field = field.encode()
        self._claim_idle_ms = claim_idle_ms
        self._claim_every_s = min(max(claim_idle_ms / 2000.0, 0.1), 15.0)
        self._next_claim = 0.0
        self._claim_cursor: bytes | str = "0-0"
        self._own_cursor: bytes | str | None = "0"
        self._redis: aioredis.Redis | None = None

    def __repr__(self) -> str:
        return f"RedisSource({self.endpoint!s}, consumer={self.consumer!r})"

    async def open(self) -> None:
        self._redis = _client(self.endpoint)
        async with _translated(self.endpoint):
            await self._create_group()

    async def _create_group(self) -> None:
        try:
            await self._r.xgroup_create(
                self.endpoint.stream, self.group, id=self.endpoint.start, mkstream=True
            )
        except rexc.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    @property
    def _r(self) -> aioredis.Redis:
        if self._redis is None:
            raise Unavailable("the Redis source is not open; call open() first")
        return self._redis

    async def read(self, max_count: int, block_ms: int) -> list[Message]:
        try:
            return await self._read(max_count, block_ms)
        except Unavailable as exc:
            if "NOGROUP" not in str(exc):
                raise
            # The stream or the group was deleted under us: start over, like a first start.
            log.warning("%s: %s; creating the group again", self.endpoint, exc.message)
            async with _translated(self.endpoint):
                await self._create_group()
            return []

    async def _read(self, max_count: int, block_ms: int) -> list[Message]:
        async with _translated(self.endpoint):
            if self._own_cursor is not None:
                found = await self._own_pending(max_count)
                if found:
                    return found
            if time.monotonic() >= self._next_claim:
                claimed = await self._claim(max_count)
                if claimed:
                    return claimed
            reply = await self._r.xreadgroup(
                self.group,
                self.consumer,
                {self.endpoint.stream: ">"},
                count=max_count,
                block=max(1, block_ms),
            )
            return await self._messages(_entries(reply))

    async def _own_pending(self, max_count: int) -> list[Message]:
        """Entries this consumer read before a restart and never acknowledged."""
        while self._own_cursor is not None:
            reply = await self._r.xreadgroup(
                self.group,
                self.consumer,
                {self.endpoint.stream: self._own_cursor},
                count=max_count,
            )
            entries = _entries(reply)
            if not entries:
                self._own_cursor = None
                break
            self._own_cursor = entries[-1][0]
            found = await self._messages(entries)
            if found:
                return found
        return []

    async def _claim(self, max_count: int) -> list[Message]:
        """Entries left pending by consumers that are gone (idle past the claim time)."""
        reply = await self._r.xautoclaim(
            self.endpoint.stream,
            self.group,
            self.consumer,
            self._claim_idle_ms,
            start_id=self._claim_cursor,
            count=max_count,
        )
        cursor, entries = reply[0], reply[1]
        if cursor in (b"0-0", "0-0"):
            self._claim_cursor = "0-0"
            self._next_claim = time.monotonic() + self._claim_every_s
        else:
            self._claim_cursor = cursor
        return await self._messages(entries)

    async def _messages(self, entries: list[Any]) -> list[Message]:
        out: list[Message] = []
        gone: list[Any] = []
        for entry_id, fields in entries:
            if not fields:  # deleted from the stream while pending: nothing left to score
                gone.append(entry_id)
                continue
            text = _text(entry_id)
            out.append(Message(text, fields.get(self._field), int(text.split("-", 1)[0]), entry_id))
        if gone:
            await self._r.xack(self.endpoint.stream, self.group, *gone)
        return out

    async def ack(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        ids = [m.token for m in messages]
        async with _translated(self.endpoint):
            await self._r.xack(self.endpoint.stream, self.group, *ids)  # type: ignore[arg-type]

    async def backlog(self) -> Backlog:
        async with _translated(self.endpoint):
            groups = await self._r.xinfo_groups(self.endpoint.stream)
        for info in groups:
            if _text(info.get("name")) == self.group:
                lag = info.get("lag")
                return Backlog(lag=None if lag is None else int(lag), pending=int(info["pending"]))
        return Backlog(lag=None, pending=0)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


class RedisSink:
    """Appends records to a Redis stream, at most once per input id (within ``dedup_ttl``)."""

    def __init__(self, endpoint: RedisEndpoint, *, field: str = "data") -> None:
        self.endpoint = endpoint
        self._field = field
        self._prefix = f"{endpoint.stream}:seen:"
        self._redis: aioredis.Redis | None = None
        self._script: Any = None

    def __repr__(self) -> str:
        return f"RedisSink({self.endpoint.url}?stream={self.endpoint.stream})"

    async def open(self) -> None:
        self._redis = _client(self.endpoint)
        self._script = self._redis.register_script(_WRITE)
        async with _translated(self.endpoint):
            await self._redis.ping()

    async def write(self, records: Sequence[Record]) -> int:
        if not records:
            return 0
        if self._script is None:
            raise Unavailable("the Redis sink is not open; call open() first")
        items: list[str] = []
        for record in records:
            items.append(record.id)
            items.append(record.body.decode())
        # One argument for the whole batch: packing thousands of arguments costs more in
        # redis-py than the script costs in Redis.
        args = [
            self.endpoint.dedup_ttl_s,
            self.endpoint.maxlen or 0,
            self._field,
            self._prefix,
            orjson.dumps(items),
        ]
        async with _translated(self.endpoint):
            written = await self._script(keys=[self.endpoint.stream], args=args)
        return int(written)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


def _entries(reply: Any) -> list[Any]:
    """The (id, fields) pairs of a one-stream XREADGROUP reply (RESP2 list or RESP3 map)."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return list(next(iter(reply.values()))[0] if reply else [])
    return list(reply[0][1])


async def redis_status(
    source: RedisEndpoint,
    *,
    sink: RedisEndpoint | None,
    dead_letter: RedisEndpoint | None,
    window_s: float,
) -> list[GroupStatus]:
    """Groups of ``source.stream`` (only ``source.group`` when set), sampled ``window_s`` apart."""
    client = _client(source)
    try:
        async with _translated(source):
            if await client.exists(source.stream) == 0:
                raise InvalidInput(
                    f"Redis stream {source.stream!r} does not exist at {source.url}; "
                    "nothing has been written to it and no scorer has started on it"
                )
            first = await _groups(client, source)
            if window_s > 0:
                await asyncio.sleep(window_s)
            second = await _groups(client, source)
            length = int(await client.xlen(source.stream))
            dead = int(await client.xlen(dead_letter.stream)) if dead_letter else None
            sink_len = None
            if sink is not None:
                sink_client = client if sink.url == source.url else _client(sink)
                try:
                    sink_len = int(await sink_client.xlen(sink.stream))
                finally:
                    if sink_client is not client:
                        await sink_client.aclose()
            out: list[GroupStatus] = []
            for name, info in second.items():
                done = _done(info)
                before = first.get(name)
                rate = None
                if before is not None and window_s > 0 and done is not None:
                    earlier = _done(before)
                    rate = None if earlier is None else max(0.0, (done - earlier) / window_s)
                consumers = await client.xinfo_consumers(source.stream, name)
                out.append(
                    GroupStatus(
                        stream=source.stream,
                        group=name,
                        length=length,
                        lag=None if info.get("lag") is None else int(info["lag"]),
                        pending=int(info["pending"]),
                        throughput=rate,
                        dead_letters=dead,
                        sink_length=sink_len,
                        consumers=tuple(
                            ConsumerStatus(
                                name=_text(c["name"]),
                                pending=int(c["pending"]),
                                idle_ms=int(c["idle"]),
                            )
                            for c in consumers
                        ),
                    )
                )
    finally:
        await client.aclose()
    if source.group and not out:
        raise InvalidInput(
            f"Redis stream {source.stream!r} has no consumer group {source.group!r}; "
            "leave &group= out of the URL to see every group"
        )
    return out


async def _groups(client: aioredis.Redis, source: RedisEndpoint) -> dict[str, dict[str, Any]]:
    groups = await client.xinfo_groups(source.stream)
    out = {_text(g["name"]): g for g in groups}
    if source.group:
        return {source.group: out[source.group]} if source.group in out else {}
    return out


def _done(info: dict[str, Any]) -> int | None:
    read = info.get("entries-read")
    return None if read is None else int(read) - int(info["pending"])
