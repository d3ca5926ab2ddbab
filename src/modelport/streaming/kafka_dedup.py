"""The input ids already in a Kafka sink topic, read back from the topic itself.

A Kafka sink is at-least-once on its own: a scorer killed after writing a batch but before
committing its offsets leaves that batch to be read again, by itself after a restart or by
another member of its group after a rebalance. With ``?dedup=true`` the sink reads every key
of its topic (the input id each record answers) before each write and skips ids already
there, so each input has exactly one output whichever process wrote it first.

"Caught up" means each partition's position reached the end offset asked for at the start of
the catch-up. That holds on brokers that report the true end offset, and on Tansu 0.6, which
reports the base offset of the last record batch plus one: a batch not yet read starts at or
after the position, so its reported end is past the position too. Memory grows with the
number of distinct ids in the topic (about 100 bytes each).
"""

from __future__ import annotations

import time
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from modelport.errors import Unavailable

__all__ = ["SinkIndex"]

_CATCH_UP_S = 30.0


class SinkIndex:
    """Every key written to one topic so far, kept up to date by reading the topic's tail."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.keys: set[bytes] = set()
        self._consumer: Any = KafkaConsumer(
            bootstrap_servers=bootstrap.split(","),
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
        )
        self._assigned: set[int] = set()

    def catch_up(self) -> None:
        """Read every record written before this call (by any process) and remember its key."""
        consumer = self._consumer
        parts = consumer.partitions_for_topic(self.topic) or set()
        if set(parts) - self._assigned:
            new = [TopicPartition(self.topic, p) for p in set(parts) - self._assigned]
            self._assigned |= set(parts)
            consumer.assign([TopicPartition(self.topic, p) for p in sorted(self._assigned)])
            consumer.seek_to_beginning(*new)
        if not self._assigned:
            return  # the topic does not exist yet: nothing was written
        tps = [TopicPartition(self.topic, p) for p in sorted(self._assigned)]
        ends = consumer.end_offsets(tps)
        deadline = time.monotonic() + _CATCH_UP_S
        while any(consumer.position(tp) < int(ends.get(tp) or 0) for tp in tps):
            if time.monotonic() > deadline:
                raise Unavailable(
                    f"reading back Kafka topic {self.topic!r} to skip ids already written "
                    f"took over {_CATCH_UP_S:.0f}s"
                )
            for records in consumer.poll(timeout_ms=100).values():
                self.keys.update(r.key for r in records if r.key is not None)

    def close(self) -> None:
        self._consumer.close(autocommit=False)
