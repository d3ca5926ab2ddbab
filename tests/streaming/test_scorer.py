from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

import httpx
import numpy as np
import orjson
import pytest
import redis.asyncio as aioredis

from modelport.errors import InvalidInput, Unavailable
from modelport.runtimes.base import Array, Batch
from modelport.streaming.base import Record
from modelport.streaming.redis_backend import RedisSink, RedisSource
from modelport.streaming.scorer import ScoredModel, Scorer, ScorerStats, ScoringPolicy
from modelport.streaming.urls import RedisEndpoint

from .conftest import FEATURES


def events(n: int, seed: int = 1) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, len(FEATURES))).round(3)
    return [dict(zip(FEATURES, map(float, row), strict=True)) for row in values]


async def produce(client: aioredis.Redis, stream: str, payloads: Sequence[object]) -> list[str]:
    pipe = client.pipeline(transaction=False)
    for p in payloads:
        pipe.xadd(stream, {"data": p if isinstance(p, bytes) else orjson.dumps(p)})
    return [i.decode() for i in await pipe.execute()]


class Streams:
    """The three streams of one scorer under the test's key prefix."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.url = redis_url
        self.source = RedisEndpoint(url=redis_url, stream=f"{prefix}:tx", group="scorer")
        self.sink = RedisEndpoint(url=redis_url, stream=f"{prefix}:scores")
        self.dead = RedisEndpoint(url=redis_url, stream=f"{prefix}:tx.dead-letter")

    def scorer(
        self, model: ScoredModel, *, sink: object = None, policy: ScoringPolicy | None = None
    ) -> Scorer:
        return Scorer(
            model,
            RedisSource(self.source, consumer="test", claim_idle_ms=60_000),
            sink or RedisSink(self.sink),  # type: ignore[arg-type]
            RedisSink(self.dead),
            policy=policy or ScoringPolicy(max_batch=64, max_wait_ms=5, idle_block_ms=20),
        )


async def run_until(
    scorer: Scorer, done: Callable[[], Awaitable[bool]], timeout: float = 20.0
) -> ScorerStats:
    task = asyncio.create_task(scorer.run())
    try:
        async with asyncio.timeout(timeout):
            while not await done():
                if task.done():
                    break
                await asyncio.sleep(0.02)
    finally:
        scorer.stop()
    return await asyncio.wait_for(task, 10)


async def entries(client: aioredis.Redis, stream: str) -> list[dict[str, object]]:
    return [orjson.loads(fields[b"data"]) for _, fields in await client.xrange(stream)]


@pytest.fixture
def streams(redis_url: str, prefix: str) -> Streams:
    return Streams(redis_url, prefix)


async def test_every_event_is_scored_once_with_id_model_version_and_outputs(
    streams: Streams, scored: ScoredModel, rclient: aioredis.Redis
) -> None:
    data = events(700)
    ids = await produce(rclient, streams.source.stream, data)
    scorer = streams.scorer(scored)

    async def all_written() -> bool:
        return int(await rclient.xlen(streams.sink.stream)) >= len(ids)

    stats = await run_until(scorer, all_written)
    out = await entries(rclient, streams.sink.stream)
    assert sorted(o["id"] for o in out) == sorted(ids)
    expected = scored.predict({f: np.array([d[f] for d in data], np.float32) for f in FEATURES})
    by_id = {o["id"]: o for o in out}
    for i, entry_id in enumerate(ids):
        row = by_id[entry_id]
        assert row["model"] == "fraud" and row["version"] == "1"
        assert row["predict"] == int(expected["predict"][i])
        assert np.allclose(row["predict_proba"], expected["predict_proba"][i], atol=1e-6)
    assert (stats.consumed, stats.produced, stats.dead_lettered) == (700, 700, 0)
    assert stats.batches >= 700 // 64
    assert (await rclient.xpending(streams.source.stream, "scorer"))["pending"] == 0


async def test_bad_messages_go_to_dead_letters_and_scoring_goes_on(
    streams: Streams, scored: ScoredModel, rclient: aioredis.Redis
) -> None:
    good = events(20)
    payloads: list[object] = [*good[:10], b"{oops", {"amount": 1.0}, [1, 2], *good[10:]]
    ids = await produce(rclient, streams.source.stream, payloads)
    request = {
        "inputs": [
            {"name": f, "datatype": "FP32", "shape": [2], "data": [0.5, -0.5]} for f in FEATURES
        ]
    }
    ids += await produce(rclient, streams.source.stream, [request])
    scorer = streams.scorer(scored)

    async def settled() -> bool:
        n = await rclient.xlen(streams.sink.stream) + await rclient.xlen(streams.dead.stream)
        return int(n) >= len(ids)

    stats = await run_until(scorer, settled)
    dead = await entries(rclient, streams.dead.stream)
    assert [d["id"] for d in dead] == ids[10:13]
    assert dead[0]["payload"] == "{oops" and "not valid JSON" in str(dead[0]["reason"])
    assert "lacks 3 feature(s)" in str(dead[1]["reason"])
    assert all(d["model"] == "fraud" and d["kind"] == "invalid_input" for d in dead)
    out = {o["id"]: o for o in await entries(rclient, streams.sink.stream)}
    assert set(out) == set(ids) - set(ids[10:13])
    assert len(out[ids[-1]]["predict"]) == 2  # the OIP request: whole tensors back
    assert (stats.produced, stats.dead_lettered) == (21, 3)
    assert (await rclient.xpending(streams.source.stream, "scorer"))["pending"] == 0


async def test_rows_the_model_fails_on_are_dead_lettered_alone(
    streams: Streams, scored: ScoredModel, rclient: aioredis.Redis
) -> None:
    def picky(inputs: Batch) -> dict[str, Array]:
        if (inputs["amount"] > 100).any():
            raise ValueError("amount out of range")
        return scored.predict(inputs)

    data = events(30)
    data[7]["amount"] = 500.0
    ids = await produce(rclient, streams.source.stream, data)
    scorer = streams.scorer(replace(scored, predict=picky))

    async def settled() -> bool:
        n = await rclient.xlen(streams.sink.stream) + await rclient.xlen(streams.dead.stream)
        return int(n) >= len(ids)

    stats = await run_until(scorer, settled)
    dead = await entries(rclient, streams.dead.stream)
    assert [d["id"] for d in dead] == [ids[7]]
    assert dead[0]["kind"] == "prediction_failed" and "amount out of range" in str(
        dead[0]["reason"]
    )
    assert stats.produced == 29


class GatedSink:
    """A real Redis sink behind a gate: while closed, writes wait (a slow or stuck sink)."""

    def __init__(self, inner: RedisSink, failures: int = 0) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.failures = failures
        self.calls = 0

    async def open(self) -> None:
        await self.inner.open()

    async def write(self, records: Sequence[Record]) -> int:
        self.calls += 1
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise Unavailable("sink is down for a moment")
        return await self.inner.write(records)

    async def close(self) -> None:
        await self.inner.close()


async def group_read(client: aioredis.Redis, stream: str) -> int:
    (group,) = await client.xinfo_groups(stream)
    return int(group["entries-read"])


async def test_a_slow_sink_slows_reading_instead_of_filling_memory(
    streams: Streams, scored: ScoredModel, rclient: aioredis.Redis
) -> None:
    ids = await produce(rclient, streams.source.stream, events(2_000))
    sink = GatedSink(RedisSink(streams.sink))
    policy = ScoringPolicy(max_batch=10, max_wait_ms=1, max_in_flight=2, idle_block_ms=20)
    scorer = streams.scorer(scored, sink=sink, policy=policy)
    task = asyncio.create_task(scorer.run())
    try:
        await asyncio.sleep(0.5)
        assert await group_read(rclient, streams.source.stream) <= 2 * 10  # two batches, no more
        sink.gate.set()
        async with asyncio.timeout(20):
            while await rclient.xlen(streams.sink.stream) < len(ids):
                await asyncio.sleep(0.05)
    finally:
        sink.gate.set()
        scorer.stop()
    stats = await task
    assert stats.produced == 2_000


async def test_stop_finishes_and_acknowledges_the_batches_in_hand(
    streams: Streams, scored: ScoredModel, rclient: aioredis.Redis
) -> None:
    await produce(rclient, streams.source.stream, events(500))
    sink = GatedSink(RedisSink(streams.sink))
    policy = ScoringPolicy(max_batch=50, max_wait_ms=1, max_in_flight=3, idle_block_ms=20)
    scorer = streams.scorer(scored, sink=sink, policy=policy)
    task = asyncio.create_task(scorer.run())
    async with asyncio.timeout(10):
        while sink.calls < 3:  # three batches read and waiting on the sink
            await asyncio.sleep(0.01)
    scorer.stop()
    await asyncio.sleep(0.1)
    sink.gate.set()
    stats = await asyncio.wait_for(task, 10)
    assert stats.consumed == stats.produced == 150
    assert await rclient.xlen(streams.sink.stream) == 150
    assert (await rclient.xpending(streams.source.stream, "scorer"))["pending"] == 0


async def test_a_sink_outage_is_retried_and_nothing_is_acknowledged_before_the_write(
    streams: Streams, scored: ScoredModel, rclient: aioredis.Redis
) -> None:
    ids = await produce(rclient, streams.source.stream, events(40))
    sink = GatedSink(RedisSink(streams.sink), failures=3)
    sink.gate.set()
    policy = ScoringPolicy(max_batch=40, max_wait_ms=1, max_in_flight=1, idle_block_ms=20)
    scorer = streams.scorer(scored, sink=sink, policy=policy)

    async def all_written() -> bool:
        return int(await rclient.xlen(streams.sink.stream)) >= len(ids)

    stats = await run_until(scorer, all_written)
    assert stats.produced == 40 and sink.calls >= 4
    text = scorer.metrics.render().decode()
    assert 'modelport_stream_errors_total{model="fraud"} 3.0' in text


async def test_metrics_endpoint_reports_counts_batches_and_latency(
    streams: Streams, scored: ScoredModel, rclient: aioredis.Redis
) -> None:
    ids = await produce(rclient, streams.source.stream, [*events(99), b"nope"])
    scorer = streams.scorer(scored)
    port = scorer.metrics.serve(0, host="127.0.0.1")
    try:

        async def settled() -> bool:
            n = await rclient.xlen(streams.sink.stream) + await rclient.xlen(streams.dead.stream)
            return int(n) >= len(ids)

        await run_until(scorer, settled)
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    finally:
        scorer.metrics.close()
    assert 'modelport_stream_consumed_total{model="fraud"} 100.0' in text
    assert 'modelport_stream_produced_total{model="fraud"} 99.0' in text
    assert 'modelport_stream_dead_lettered_total{kind="invalid_input",model="fraud"} 1.0' in text
    assert 'modelport_stream_end_to_end_latency_seconds_count{model="fraud"} 100.0' in text
    assert "modelport_stream_batch_size_bucket" in text
    assert "modelport_stream_consumer_lag" in text


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"max_batch": 0}, "max_batch must be an integer >= 1"),
        ({"max_wait_ms": -1}, "max_wait_ms must be a number >= 0"),
        ({"max_in_flight": 0}, "max_in_flight must be an integer >= 1"),
    ],
)
def test_bad_policy_values_say_what_to_use(kwargs: dict[str, float], needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        ScoringPolicy(**kwargs)  # type: ignore[arg-type]


async def test_abort_leaves_the_batches_in_hand_unacknowledged_for_later(
    streams: Streams, scored: ScoredModel, rclient: aioredis.Redis
) -> None:
    await produce(rclient, streams.source.stream, events(100))
    sink = GatedSink(RedisSink(streams.sink))  # the gate stays shut: every write hangs
    policy = ScoringPolicy(max_batch=50, max_wait_ms=1, max_in_flight=2, idle_block_ms=20)
    scorer = streams.scorer(scored, sink=sink, policy=policy)
    task = asyncio.create_task(scorer.run())
    async with asyncio.timeout(10):
        while sink.calls < 2:
            await asyncio.sleep(0.01)
    scorer.stop()
    scorer.abort()  # a second signal
    stats = await asyncio.wait_for(task, 10)
    assert stats.aborted and stats.produced == 0
    assert await rclient.xlen(streams.sink.stream) == 0
    assert (await rclient.xpending(streams.source.stream, "scorer"))["pending"] == 100


async def test_results_carry_the_events_id_fields(
    streams: Streams, scored: ScoredModel, rclient: aioredis.Redis
) -> None:
    data = events(30)
    tagged = [{**d, "transaction_id": f"t-{i}", "shop": "s1"} for i, d in enumerate(data[:20])]
    own_id = [{**d, "id": f"order-{i}"} for i, d in enumerate(data[20:25])]
    request = {"id": "req-1", "inputs": [
        {"name": f, "datatype": "FP32", "shape": [2], "data": [d[f] for d in data[25:27]]}
        for f in FEATURES]}
    ids = await produce(rclient, streams.source.stream, [*tagged, *own_id, *data[27:], request])
    policy = ScoringPolicy(max_batch=64, max_wait_ms=5, idle_block_ms=20,
                           id_fields=("transaction_id", "id"))
    scorer = streams.scorer(scored, policy=policy)

    async def all_written() -> bool:
        return int(await rclient.xlen(streams.sink.stream)) >= len(ids)

    await run_until(scorer, all_written)
    out = await entries(rclient, streams.sink.stream)
    assert len(out) == len(ids)
    assert sorted(o["transaction_id"] for o in out if "transaction_id" in o) == sorted(
        f"t-{i}" for i in range(20))
    assert all("shop" not in o for o in out)  # only the configured fields
    assert sorted(o["id"] for o in out if str(o["id"]).startswith("order-")) == [
        f"order-{i}" for i in range(5)]
    assert "req-1" in [o["id"] for o in out]  # an OIP request's own id
    plain = [o for o in out if "transaction_id" not in o and o["id"] != "req-1"
             and not str(o["id"]).startswith("order-")]
    assert sorted(o["id"] for o in plain) == sorted(ids[25:28])  # the entry id otherwise


def test_id_fields_must_be_names() -> None:
    with pytest.raises(InvalidInput, match="id_fields"):
        ScoringPolicy(id_fields=("",))
