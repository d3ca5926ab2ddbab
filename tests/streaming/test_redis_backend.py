from __future__ import annotations

import asyncio

import orjson
import pytest
import redis.asyncio as aioredis

from modelport.errors import InvalidInput, Unavailable
from modelport.streaming.base import Record
from modelport.streaming.redis_backend import RedisSink, RedisSource, redis_status
from modelport.streaming.urls import RedisEndpoint


def endpoint(redis_url: str, stream: str, group: str | None = "scorer") -> RedisEndpoint:
    return RedisEndpoint(url=redis_url, stream=stream, group=group)


async def add(client: aioredis.Redis, stream: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        ids.append((await client.xadd(stream, {"data": orjson.dumps({"n": i})})).decode())
    return ids


async def test_group_is_created_if_missing_and_reuse_is_fine(
    redis_url: str, prefix: str, rclient: aioredis.Redis
) -> None:
    stream = f"{prefix}:tx"
    for _ in range(2):  # the second open finds the group already there
        source = RedisSource(endpoint(redis_url, stream), consumer="c1")
        await source.open()
        await source.close()
    groups = await rclient.xinfo_groups(stream)
    assert [g["name"] for g in groups] == [b"scorer"]


async def test_read_then_ack_empties_the_pending_list(
    redis_url: str, prefix: str, rclient: aioredis.Redis
) -> None:
    stream = f"{prefix}:tx"
    ids = await add(rclient, stream, 5)
    source = RedisSource(endpoint(redis_url, stream), consumer="c1")
    await source.open()
    try:
        got = await source.read(10, 50)
        assert [m.id for m in got] == ids
        assert orjson.loads(got[0].payload or b"") == {"n": 0}
        assert got[0].event_ms == int(ids[0].split("-")[0])
        assert (await source.backlog()).pending == 5
        await source.ack(got)
        assert await source.backlog() == type(await source.backlog())(lag=0, pending=0)
        assert await source.read(10, 20) == []
    finally:
        await source.close()


async def test_a_restarted_consumer_first_gets_its_own_pending_entries(
    redis_url: str, prefix: str, rclient: aioredis.Redis
) -> None:
    stream = f"{prefix}:tx"
    ids = await add(rclient, stream, 6)
    first = RedisSource(endpoint(redis_url, stream), consumer="c1")
    await first.open()
    read = await first.read(4, 50)  # read, never acknowledged: the process "dies"
    await first.close()
    again = RedisSource(endpoint(redis_url, stream), consumer="c1")
    await again.open()
    try:
        replay = await again.read(10, 50)
        assert [m.id for m in replay] == [m.id for m in read] == ids[:4]
        await again.ack(replay)
        rest = await again.read(10, 50)
        assert [m.id for m in rest] == ids[4:]
    finally:
        await again.close()


async def test_a_gone_consumers_entries_are_claimed_after_the_idle_time(
    redis_url: str, prefix: str, rclient: aioredis.Redis
) -> None:
    stream = f"{prefix}:tx"
    ids = await add(rclient, stream, 3)
    dead = RedisSource(endpoint(redis_url, stream), consumer="dead")
    await dead.open()
    assert len(await dead.read(10, 50)) == 3
    await dead.close()
    other = RedisSource(endpoint(redis_url, stream), consumer="alive", claim_idle_ms=300)
    await other.open()
    try:
        assert await other.read(10, 50) == []  # not idle long enough yet
        await asyncio.sleep(0.35)
        claimed = await other.read(10, 50)
        assert [m.id for m in claimed] == ids
        await other.ack(claimed)
        assert (await other.backlog()).pending == 0
    finally:
        await other.close()


async def test_deleted_pending_entries_are_dropped_not_scored(
    redis_url: str, prefix: str, rclient: aioredis.Redis
) -> None:
    stream = f"{prefix}:tx"
    ids = await add(rclient, stream, 2)
    first = RedisSource(endpoint(redis_url, stream), consumer="c1")
    await first.open()
    await first.read(10, 50)
    await first.close()
    await rclient.xdel(stream, ids[0])
    again = RedisSource(endpoint(redis_url, stream), consumer="c1")
    await again.open()
    try:
        assert [m.id for m in await again.read(10, 50)] == [ids[1]]
    finally:
        await again.close()


async def test_missing_field_gives_a_message_without_payload(
    redis_url: str, prefix: str, rclient: aioredis.Redis
) -> None:
    stream = f"{prefix}:tx"
    await rclient.xadd(stream, {"other": b"x"})
    await rclient.xadd(stream, {"body": b"{}"})
    source = RedisSource(endpoint(redis_url, stream), consumer="c1", field="body")
    await source.open()
    try:
        got = await source.read(10, 50)
        assert [m.payload for m in got] == [None, b"{}"]
    finally:
        await source.close()


async def test_sink_writes_each_input_id_once_even_when_replayed(
    redis_url: str, prefix: str, rclient: aioredis.Redis
) -> None:
    stream = f"{prefix}:scores"
    sink = RedisSink(RedisEndpoint(url=redis_url, stream=stream))
    await sink.open()
    try:
        first = [Record(f"{i}-0", b'{"p": %d}' % i) for i in range(3)]
        assert await sink.write(first) == 3
        assert await sink.write([*first[1:], Record("9-0", b"{}")]) == 1  # a replay + one new
        entries = await rclient.xrange(stream)
        assert [e[1][b"id"] for e in entries] == [b"0-0", b"1-0", b"2-0", b"9-0"]
        assert entries[0][1][b"data"] == b'{"p": 0}'
        assert 0 < await rclient.ttl(f"{stream}:seen:0-0") <= 86_400
    finally:
        await sink.close()


async def test_sink_without_dedup_and_with_trimming(
    redis_url: str, prefix: str, rclient: aioredis.Redis
) -> None:
    stream = f"{prefix}:scores"
    sink = RedisSink(RedisEndpoint(url=redis_url, stream=stream, dedup_ttl_s=0), field="out")
    await sink.open()
    try:
        assert await sink.write([Record("1-0", b"{}")] * 2) == 2
        assert await rclient.xlen(stream) == 2
        assert await rclient.exists(f"{stream}:seen:1-0") == 0
    finally:
        await sink.close()


async def test_a_key_that_is_not_a_stream_is_a_clear_error(
    redis_url: str, prefix: str, rclient: aioredis.Redis
) -> None:
    await rclient.set(f"{prefix}:plain", "x")
    source = RedisSource(endpoint(redis_url, f"{prefix}:plain"), consumer="c1")
    with pytest.raises(InvalidInput, match="is not a stream"):
        await source.open()
    await source.close()


async def test_an_unreachable_server_is_unavailable() -> None:
    source = RedisSource(endpoint("redis://127.0.0.1:1/0", "s"), consumer="c1")
    with pytest.raises(Unavailable, match="unreachable"):
        await source.open()
    await source.close()


async def test_status_reports_groups_consumers_and_dead_letters(
    redis_url: str, prefix: str, rclient: aioredis.Redis
) -> None:
    stream = f"{prefix}:tx"
    await add(rclient, stream, 4)
    source = RedisSource(endpoint(redis_url, stream), consumer="c1")
    await source.open()
    got = await source.read(3, 50)
    await source.ack(got[:1])
    await source.close()
    await rclient.xadd(f"{stream}.dead-letter", {"data": b"{}"})
    groups = await redis_status(
        endpoint(redis_url, stream, group=None),
        sink=None,
        dead_letter=RedisEndpoint(url=redis_url, stream=f"{stream}.dead-letter"),
        window_s=0,
    )
    assert len(groups) == 1
    g = groups[0]
    assert (g.group, g.length, g.lag, g.pending, g.dead_letters) == ("scorer", 4, 1, 2, 1)
    assert [(c.name, c.pending) for c in g.consumers] == [("c1", 2)]
    with pytest.raises(InvalidInput, match="no consumer group 'nope'"):
        await redis_status(
            endpoint(redis_url, stream, "nope"), sink=None, dead_letter=None, window_s=0
        )
    with pytest.raises(InvalidInput, match="does not exist"):
        await redis_status(
            endpoint(redis_url, f"{prefix}:none"), sink=None, dead_letter=None, window_s=0
        )


async def test_a_deleted_stream_and_group_are_created_again(
    redis_url: str, prefix: str, rclient: aioredis.Redis
) -> None:
    stream = f"{prefix}:tx"
    source = RedisSource(endpoint(redis_url, stream), consumer="c1")
    await source.open()
    try:
        await add(rclient, stream, 1)
        assert len(await source.read(10, 20)) == 1
        await rclient.delete(stream)
        assert await source.read(10, 20) == []  # NOGROUP: the group is made again
        ids = await add(rclient, stream, 2)
        assert [m.id for m in await source.read(10, 20)] == ids
    finally:
        await source.close()
