"""Kafka: a consumer-group source with manual offset commits, and a producer sink (kafka-python).

kafka-python is blocking and its consumer is not thread-safe, so every consumer call runs on
one thread of its own and every producer flush in a worker thread; the event loop never
blocks. Offsets are committed only for messages whose results are in the sink, and in order:
per partition the commit advances to the first message not yet done, so batches finishing
out of order never skip one. A Kafka sink is at-least-once: after a crash, a replayed message
is written again with the same key (its input id), for downstream to de-duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import CommitFailedError, IncompatibleBrokerVersion, KafkaError
from kafka.structs import OffsetAndMetadata

from modelport.errors import ModelportError, NotFound, Unavailable
from modelport.streaming.base import Backlog, Message, Record
from modelport.streaming.kafka_dedup import SinkIndex
from modelport.streaming.status import GroupStatus
from modelport.streaming.urls import KafkaEndpoint

__all__ = ["KafkaSink", "KafkaSource", "kafka_status"]

T = TypeVar("T")
log = logging.getLogger(__name__)
_POLL_CAP_MS = 100
"""Longest single poll, so commits queued behind it on the consumer thread wait little."""


def _guarded(endpoint: KafkaEndpoint, fn: Callable[[], T]) -> T:
    """Run ``fn``, turning kafka-python's errors into ours (a broker down is Unavailable)."""
    try:
        return fn()
    except ModelportError:
        raise
    except (KafkaError, OSError) as exc:
        raise Unavailable(
            f"Kafka at {endpoint.bootstrap} failed on topic {endpoint.topic!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _partitions(consumer: Any, endpoint: KafkaEndpoint) -> list[TopicPartition]:
    parts = consumer.partitions_for_topic(endpoint.topic)
    if not parts:
        raise NotFound(
            f"Kafka topic {endpoint.topic!r} does not exist at {endpoint.bootstrap}; create it "
            "or produce to it first"
        )
    return [TopicPartition(endpoint.topic, p) for p in sorted(parts)]


class _Forget(ConsumerRebalanceListener):  # type: ignore[misc]
    """Drops commit tracking of revoked partitions: their new owner re-reads from the commit."""

    def __init__(self, source: KafkaSource) -> None:
        self.source = source

    def on_partitions_revoked(self, revoked: Any) -> None:
        for tp in revoked:
            self.source._pending.pop(tp, None)
            self.source._to_commit.pop(tp, None)

    def on_partitions_assigned(self, assigned: Any) -> None:
        # A rebalance is worth seeing in the log: which member now reads which partitions.
        log.warning(
            "consumer %s of group %s now reads partitions [%s] of topic %s",
            self.source.consumer_name,
            self.source.endpoint.group,
            ", ".join(str(tp.partition) for tp in sorted(assigned)),
            self.source.endpoint.topic,
        )


class KafkaSource:
    """A Kafka topic read by a consumer group, committing offsets only after the sink write."""

    def __init__(self, endpoint: KafkaEndpoint, *, consumer: str) -> None:
        self.endpoint = endpoint
        self.consumer_name = consumer
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="kafka-consumer")
        self._consumer: Any = None
        self._pending: dict[TopicPartition, dict[int, bool]] = {}
        self._to_commit: dict[TopicPartition, int] = {}

    def __repr__(self) -> str:
        return f"KafkaSource({self.endpoint!s}, consumer={self.consumer_name!r})"

    async def _call(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, _guarded, self.endpoint, fn)

    async def open(self) -> None:
        await self._call(self._open)

    def _open(self) -> None:
        endpoint = self.endpoint
        timeouts: dict[str, int] = {}
        if endpoint.session_timeout_ms is not None:
            session = endpoint.session_timeout_ms
            beat = max(1, min(3000, session // 3))
            timeouts = {"session_timeout_ms": session, "heartbeat_interval_ms": beat}
        consumer = KafkaConsumer(
            bootstrap_servers=endpoint.bootstrap.split(","),
            group_id=endpoint.group,
            client_id=self.consumer_name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **timeouts,
        )
        try:
            # Learning the partitions first also means the group join below sees them.
            partitions = _partitions(consumer, endpoint)
            if endpoint.assignment == "manual":
                consumer.assign(partitions)
            else:
                consumer.subscribe([endpoint.topic], listener=_Forget(self))
        except BaseException:
            consumer.close(autocommit=False)
            raise
        self._consumer = consumer

    async def read(self, max_count: int, block_ms: int) -> list[Message]:
        timeout = min(max(block_ms, 0), _POLL_CAP_MS)
        return await self._call(lambda: self._poll(max_count, timeout))

    def _poll(self, max_count: int, timeout_ms: int) -> list[Message]:
        if self._consumer is None:
            raise Unavailable("the Kafka source is not open; call open() first")
        polled = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_count)
        out: list[Message] = []
        for tp, records in polled.items():
            track = self._pending.setdefault(tp, {})
            for rec in records:
                track[rec.offset] = False
                key = rec.key
                ident = (
                    key.decode("utf-8", "replace")
                    if isinstance(key, bytes) and key
                    else f"{tp.partition}:{rec.offset}"
                )
                stamp = rec.timestamp if rec.timestamp and rec.timestamp > 0 else None
                out.append(Message(ident, rec.value, stamp, (tp, rec.offset)))
        return out

    async def ack(self, messages: Sequence[Message]) -> None:
        tokens = [m.token for m in messages]
        await self._call(lambda: self._commit(tokens))

    def _commit(self, tokens: list[Any]) -> None:
        for tp, offset in tokens:
            track = self._pending.get(tp)
            if track is not None and offset in track:
                track[offset] = True
        for tp, track in self._pending.items():
            last = None
            while track:
                first = next(iter(track))
                if not track[first]:
                    break
                del track[first]
                last = first
            if last is not None:
                self._to_commit[tp] = last + 1
        if not self._to_commit:
            return
        offsets = {tp: OffsetAndMetadata(off, "", -1) for tp, off in self._to_commit.items()}
        try:
            self._consumer.commit(offsets)
        except CommitFailedError:
            # The group rebalanced: the partitions' new owner re-reads from the last commit.
            self._to_commit.clear()
            return
        self._to_commit.clear()

    async def backlog(self) -> Backlog:
        return await self._call(self._backlog)

    def _backlog(self) -> Backlog:
        consumer = self._consumer
        pending = sum(len(t) for t in self._pending.values())
        assigned = list(consumer.assignment()) if consumer is not None else []
        if not assigned:
            return Backlog(lag=None, pending=pending)
        ends = consumer.end_offsets(assigned)
        lag = 0
        for tp in assigned:
            committed = consumer.committed(tp) or 0
            lag += max(0, int(ends.get(tp, 0)) - int(committed))
        return Backlog(lag=max(0, lag - pending), pending=pending)

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await self._call(lambda: consumer.close(autocommit=False))
        self._thread.shutdown(wait=False)


class KafkaSink:
    """Produces one record per result to a topic, keyed by the input id.

    The producer is idempotent (no duplicates from its own retries) when the broker supports
    it; against a broker without ``InitProducerId`` it falls back to a plain producer. With
    ``dedup`` on the endpoint it skips input ids already in the topic (see ``kafka_dedup``).
    """

    def __init__(self, endpoint: KafkaEndpoint) -> None:
        self.endpoint = endpoint
        self._producer: Any = None
        self._idempotent = True
        self._index: SinkIndex | None = None

    def __repr__(self) -> str:
        return f"KafkaSink(kafka://{self.endpoint.bootstrap}/{self.endpoint.topic})"

    def _make(self) -> Any:
        return KafkaProducer(
            bootstrap_servers=self.endpoint.bootstrap.split(","),
            acks="all",
            linger_ms=2,
            enable_idempotence=self._idempotent,
        )

    async def open(self) -> None:
        self._producer = await asyncio.to_thread(_guarded, self.endpoint, self._make)
        if self.endpoint.dedup:
            endpoint = self.endpoint
            self._index = await asyncio.to_thread(
                _guarded, endpoint, lambda: SinkIndex(endpoint.bootstrap, endpoint.topic)
            )

    async def write(self, records: Sequence[Record]) -> int:
        if not records:
            return 0
        if self._producer is None:
            raise Unavailable("the Kafka sink is not open; call open() first")
        return await asyncio.to_thread(_guarded, self.endpoint, lambda: self._write(records))

    def _write(self, records: Sequence[Record]) -> int:
        index = self._index
        if index is None:
            return self._send(records)
        index.catch_up()
        fresh: dict[bytes, Record] = {}
        for r in records:
            key = r.id.encode()
            if key not in index.keys:
                fresh.setdefault(key, r)
        written = self._send(list(fresh.values())) if fresh else 0
        index.keys.update(fresh)  # only once the broker has them: a failed write is retried
        return written

    def _send(self, records: Sequence[Record]) -> int:
        producer = self._producer
        topic = self.endpoint.topic
        futures = [producer.send(topic, key=r.id.encode(), value=r.body) for r in records]
        producer.flush()
        try:
            for future in futures:
                future.get(timeout=0)  # raises the send's error, if any
        except IncompatibleBrokerVersion:
            if not self._idempotent:
                raise
            log.warning(
                "Kafka at %s cannot do idempotent producing; writing without it",
                self.endpoint.bootstrap,
            )
            producer.close(0)
            self._idempotent = False
            self._producer = self._make()
            return self._send(records)
        return len(futures)

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await asyncio.to_thread(producer.close, 5)
        index, self._index = self._index, None
        if index is not None:
            await asyncio.to_thread(index.close)


async def kafka_status(
    source: KafkaEndpoint,
    *,
    sink: KafkaEndpoint | None,
    dead_letter: KafkaEndpoint | None,
    window_s: float,
) -> list[GroupStatus]:
    """The group's committed offsets against the topic's end offsets, sampled twice."""
    return await asyncio.to_thread(
        _guarded, source, lambda: _kafka_status(source, sink, dead_letter, window_s)
    )


def _kafka_status(
    source: KafkaEndpoint,
    sink: KafkaEndpoint | None,
    dead_letter: KafkaEndpoint | None,
    window_s: float,
) -> list[GroupStatus]:
    consumer = KafkaConsumer(
        bootstrap_servers=source.bootstrap.split(","),
        group_id=source.group,
        enable_auto_commit=False,
    )
    try:
        parts = _partitions(consumer, source)

        def committed() -> int:
            return sum(max(0, consumer.committed(tp) or 0) for tp in parts)

        first = committed()
        if window_s > 0:
            time.sleep(window_s)
        done = committed()
        end = sum(int(v) for v in consumer.end_offsets(parts).values())

        def length(other: KafkaEndpoint | None) -> int | None:
            if other is None:
                return None
            tps = [
                TopicPartition(other.topic, p)
                for p in consumer.partitions_for_topic(other.topic) or ()
            ]
            return sum(int(v) for v in consumer.end_offsets(tps).values()) if tps else 0

        return [
            GroupStatus(
                stream=source.topic,
                group=str(source.group),
                length=end,
                lag=max(0, end - done),
                pending=None,
                throughput=(done - first) / window_s if window_s > 0 else None,
                dead_letters=length(dead_letter),
                sink_length=length(sink),
            )
        ]
    finally:
        consumer.close(autocommit=False)
