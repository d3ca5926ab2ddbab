"""The Kafka backend against a real Kafka-protocol broker: nafka, started by
``scripts/services-kafka.sh`` (not Apache Kafka; see that script for what it lacks)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from modelport.errors import NotFound
from modelport.streaming.base import Record
from modelport.streaming.kafka_backend import KafkaSink, KafkaSource, kafka_status
from modelport.streaming.scorer import ScoredModel, Scorer, ScoringPolicy
from modelport.streaming.urls import KafkaEndpoint

from .conftest import FEATURES

KAFKA_ENV = "MODELPORT_TEST_KAFKA_BOOTSTRAP"


@pytest.fixture
def bootstrap() -> str:
    value = os.environ.get(KAFKA_ENV)
    if not value:
        pytest.fail(
            f"{KAFKA_ENV} is not set, so the Kafka tests cannot run. Run the tests through "
            'scripts/test.sh, or first: eval "$(scripts/services-kafka.sh start)"',
            pytrace=False,
        )
    return value


@pytest.fixture
def topic() -> str:
    return f"mp-test-{uuid.uuid4().hex[:12]}"


def produce(bootstrap: str, topic: str, payloads: Sequence[object], keyed: bool = True) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    for i, payload in enumerate(payloads):
        value = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        producer.send(topic, value=value, key=f"ev-{i}".encode() if keyed else None)
    producer.flush()
    producer.close()


def consume_all(bootstrap: str, topic: str, timeout_s: float = 30) -> list[Any]:
    """Every record of ``topic``, up to its end offset at the time of the call."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning()
    end = consumer.end_offsets([tp])[tp]
    out: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while consumer.position(tp) < end and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            out.extend(records)
    consumer.close()
    return out


def events(n: int) -> list[dict[str, float]]:
    values = np.random.default_rng(5).normal(size=(n, len(FEATURES))).round(3)
    return [dict(zip(FEATURES, map(float, row), strict=True)) for row in values]


async def test_sink_writes_records_keyed_by_input_id(bootstrap: str, topic: str) -> None:
    sink = KafkaSink(KafkaEndpoint(bootstrap=bootstrap, topic=topic))
    await sink.open()
    try:
        assert await sink.write([Record("a-1", b'{"p": 1}'), Record("a-2", b'{"p": 2}')]) == 2
    finally:
        await sink.close()
    got = consume_all(bootstrap, topic)
    assert [(r.key, r.value) for r in got] == [(b"a-1", b'{"p": 1}'), (b"a-2", b'{"p": 2}')]


async def test_commits_follow_acks_in_order_and_never_skip_a_message(
    bootstrap: str, topic: str
) -> None:
    produce(bootstrap, topic, [{"n": i} for i in range(10)])
    endpoint = KafkaEndpoint(bootstrap=bootstrap, topic=topic, group="g")
    source = KafkaSource(endpoint, consumer="c1")
    await source.open()
    try:
        got: list = []
        for _ in range(50):
            got += await source.read(10, 100)
            if len(got) >= 10:
                break
        assert [m.id for m in got] == [f"ev-{i}" for i in range(10)]
        assert got[0].event_ms is not None and orjson.loads(got[3].payload or b"") == {"n": 3}
        await source.ack(got[5:])  # the later half finishes first
        (status,) = await kafka_status(endpoint, sink=None, dead_letter=None, window_s=0)
        assert status.lag == 10  # nothing committed: offset 0 is not done yet
        await source.ack(got[:5])
        (status,) = await kafka_status(endpoint, sink=None, dead_letter=None, window_s=0)
        assert (status.length, status.lag) == (10, 0)
    finally:
        await source.close()


async def test_messages_read_but_not_committed_are_read_again_after_a_restart(
    bootstrap: str, topic: str
) -> None:
    produce(bootstrap, topic, [{"n": i} for i in range(6)], keyed=False)
    endpoint = KafkaEndpoint(bootstrap=bootstrap, topic=topic, group="g", assignment="manual")
    first = KafkaSource(endpoint, consumer="c1")
    await first.open()
    got: list = []
    for _ in range(50):
        got += await first.read(10, 100)
        if len(got) >= 6:
            break
    await first.ack(got[:2])
    await first.close()  # the rest never acknowledged: as if the scorer died here
    again = KafkaSource(endpoint, consumer="c1")
    await again.open()
    try:
        replay: list = []
        for _ in range(50):
            replay += await again.read(10, 100)
            if len(replay) >= 4:
                break
        assert [m.id for m in replay] == ["0:2", "0:3", "0:4", "0:5"]  # unkeyed: partition:offset
    finally:
        await again.close()


async def test_an_unknown_topic_is_a_clear_error(bootstrap: str, topic: str) -> None:
    source = KafkaSource(KafkaEndpoint(bootstrap=bootstrap, topic=topic, group="g"), consumer="c")
    with pytest.raises(NotFound, match="does not exist"):
        await source.open()
    await source.close()


async def test_scorer_on_kafka_scores_dead_letters_and_commits(
    bootstrap: str, topic: str, scored: ScoredModel
) -> None:
    data = events(300)
    produce(bootstrap, topic, [*data[:100], b"not json", {"amount": 1}, *data[100:]])
    source_ep = KafkaEndpoint(bootstrap=bootstrap, topic=topic, group="scorer")
    sink_ep = KafkaEndpoint(bootstrap=bootstrap, topic=f"{topic}-scores")
    dead_ep = KafkaEndpoint(bootstrap=bootstrap, topic=f"{topic}.dead-letter")

    def scorer() -> Scorer:
        return Scorer(
            scored,
            KafkaSource(source_ep, consumer="c1"),
            KafkaSink(sink_ep),
            KafkaSink(dead_ep),
            policy=ScoringPolicy(max_batch=128, max_wait_ms=5, idle_block_ms=50),
        )

    async def run_until_committed(s: Scorer, total: int) -> None:
        task = asyncio.create_task(s.run())
        try:
            async with asyncio.timeout(90):
                while True:
                    await asyncio.sleep(0.2)
                    (st,) = await kafka_status(source_ep, sink=None, dead_letter=None, window_s=0)
                    if (st.length == total and st.lag == 0) or task.done():
                        break
        finally:
            s.stop()
        await asyncio.wait_for(task, 20)

    first = scorer()
    await run_until_committed(first, 302)
    assert (first.stats.produced, first.stats.dead_lettered) == (300, 2)
    outputs = consume_all(bootstrap, sink_ep.topic)
    assert sorted(r.key for r in outputs) == sorted(
        f"ev-{i}".encode() for i in range(302) if i not in (100, 101)
    )
    doc = orjson.loads(outputs[0].value)
    assert doc["id"] == outputs[0].key.decode() and doc["model"] == "fraud" and "predict" in doc
    dead = [orjson.loads(r.value) for r in consume_all(bootstrap, dead_ep.topic)]
    assert [d["id"] for d in dead] == ["ev-100", "ev-101"] and dead[0]["payload"] == "not json"

    # A clean restart resumes from the committed offsets: only the new events are scored.
    produce(bootstrap, topic, events(20))
    second = scorer()
    await run_until_committed(second, 322)
    assert second.stats.consumed == 20
    (status,) = await kafka_status(source_ep, sink=sink_ep, dead_letter=dead_ep, window_s=0)
    assert (status.sink_length, status.dead_letters, status.lag) == (320, 2, 0)
