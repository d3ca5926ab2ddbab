"""Kafka with partitions and a consumer group that rebalances, against Tansu (a Rust broker
compatible with Apache Kafka, started by ``scripts/services-tansu.sh``).

Two scorer processes share a three-partition topic in one group; one is killed with SIGKILL
mid-stream; the group rebalances its partitions onto the survivor; every input has exactly one
output in the sink topic (``?dedup=true``: ids already there are skipped), in input order per
partition. Client: kafka-python (the scorer's, and this test's)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from modelport.streaming.base import Record
from modelport.streaming.kafka_backend import KafkaSink
from modelport.streaming.urls import parse_endpoint

from .conftest import FEATURES

TANSU_ENV = "MODELPORT_TEST_TANSU_BOOTSTRAP"
RUN = "from modelport.cli.stream_cmd import app; app(prog_name='modelport stream')"


@pytest.fixture
def tansu() -> str:
    value = os.environ.get(TANSU_ENV)
    if not value:
        pytest.fail(
            f"{TANSU_ENV} is not set, so the multi-partition Kafka tests cannot run. Run the "
            'tests through scripts/test.sh, or first: eval "$(scripts/services-tansu.sh start)"',
            pytrace=False,
        )
    return value


def create_topics(bootstrap: str, **partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(t, n, 1) for t, n in partitions.items()])
    finally:
        admin.close()


def read_topic(bootstrap: str, topic: str, at_least: int, quiet_s: float = 1.0) -> list[Any]:
    """Every record of every partition: at least ``at_least``, then until ``quiet_s`` of nothing.

    Not by end offsets: Tansu 0.6 reports a partition's end as its last batch's base + 1."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    parts = consumer.partitions_for_topic(topic) or set()
    consumer.assign([TopicPartition(topic, p) for p in sorted(parts)])
    consumer.seek_to_beginning()
    out: list[Any] = []
    deadline = time.monotonic() + 60
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        got = [r for records in consumer.poll(timeout_ms=200).values() for r in records]
        out.extend(got)
        if got:
            quiet_since = time.monotonic()
        elif len(out) >= at_least and time.monotonic() - quiet_since > quiet_s:
            break
    consumer.close()
    return out


async def test_a_dedup_sink_skips_ids_another_sink_already_wrote(tansu: str) -> None:
    topic = f"mp-test-{uuid.uuid4().hex[:12]}"
    endpoint = parse_endpoint(f"kafka://{tansu}/{topic}?dedup=true", role="sink")
    first, second = KafkaSink(endpoint), KafkaSink(endpoint)  # type: ignore[arg-type]
    await first.open()
    await second.open()
    try:
        assert await first.write([Record("a", b"1"), Record("b", b"2")]) == 2
        # The second sink opened before those were written: it reads them back before writing.
        assert await second.write([Record("b", b"x"), Record("c", b"3"), Record("c", b"y")]) == 1
        assert await first.write([Record("c", b"z")]) == 0
    finally:
        await first.close()
        await second.close()
    got = read_topic(tansu, topic, 3)
    assert sorted((r.key, r.value) for r in got) == [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]


def produce(
    bootstrap: str, topic: str, per_s: float, until: threading.Event
) -> dict[bytes, tuple[int, int]]:
    """Keyed events at about ``per_s`` a second until ``until`` is set; each key's placement."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    rng = np.random.default_rng(8)
    futures = []
    start = time.monotonic()
    while not until.is_set():
        for row in rng.normal(size=(50, len(FEATURES))).round(4).tolist():
            key = f"ev-{len(futures)}".encode()
            value = orjson.dumps(dict(zip(FEATURES, row, strict=True)))
            futures.append((key, producer.send(topic, key=key, value=value)))
        time.sleep(max(0.0, start + len(futures) / per_s - time.monotonic()))
    producer.flush()
    placed = {key: (meta.partition, meta.offset) for key, f in futures for meta in [f.get(10)]}
    producer.close()
    return placed


def wait_for(what: str, check: Callable[[], bool], procs: list[subprocess.Popen[bytes]],
             logs: list[Path], timeout_s: float = 90) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while not check():
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None and proc.returncode != -signal.SIGKILL:
                raise AssertionError(f"a scorer exited before {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            text = "\n".join(log.read_text()[-3000:] for log in logs)
            raise AssertionError(f"timed out waiting for {what}:\n{text}")
        time.sleep(0.1)


def owned(log: Path) -> set[int]:
    """The partitions a scorer's last rebalance gave it, from its log."""
    found = re.findall(r"now reads partitions \[([\d, ]*)\]", log.read_text())
    return {int(p) for p in found[-1].split(", ") if p} if found else set()


def split_between(a: set[int], b: set[int]) -> bool:
    return bool(a) and bool(b) and not a & b and a | b == {0, 1, 2}


def test_two_scorers_in_a_group_one_killed_every_input_scored_once_in_order(
    tansu: str, registry_env: dict[str, str], version: object, tmp_path: Path
) -> None:
    topic = f"mp-test-{uuid.uuid4().hex[:12]}"
    group = f"scorer-{uuid.uuid4().hex[:8]}"
    create_topics(tansu, **{topic: 3, f"{topic}-scores": 1})
    # Events keep arriving while the scorers join, one dies and the group rebalances.
    enough = threading.Event()
    producing = ThreadPoolExecutor(1).submit(produce, tansu, topic, 400, enough)

    def start(name: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"{name}.log"
        args = [
            sys.executable, "-c", RUN, "run", "fraud@production",
            "--source", f"kafka://{tansu}/{topic}?group={group}&session_timeout_ms=6000",
            "--sink", f"kafka://{tansu}/{topic}-scores?dedup=true",
            "--max-batch", "50", "--max-wait-ms", "5", "--max-in-flight", "1",
            "--consumer", name,
        ]  # fmt: skip
        proc = subprocess.Popen(
            args, env=registry_env, stdout=subprocess.DEVNULL, stderr=log.open("ab")
        )
        return proc, log

    watcher = KafkaConsumer(bootstrap_servers=tansu, group_id=group, enable_auto_commit=False)

    def committed() -> dict[int, int]:
        return {p: int(watcher.committed(TopicPartition(topic, p)) or 0) for p in range(3)}

    (a, log_a), (b, log_b) = start("scorer-a"), start("scorer-b")
    procs, logs = [a, b], [log_a, log_b]
    try:
        wait_for(
            "both scorers owning partitions and committing",
            lambda: split_between(owned(log_a), owned(log_b)) and sum(committed().values()) > 0,
            procs, logs,
        )  # fmt: skip
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        time.sleep(2)
        enough.set()
        placed = producing.result(60)
        assert len(placed) > 2_000
        ends: dict[int, int] = {}
        for part, offset in placed.values():
            ends[part] = max(ends.get(part, 0), offset + 1)
        assert len(ends) == 3, "the events must spread over the three partitions"
        wait_for(
            "every partition committed to its end after the rebalance",
            lambda: all(committed()[p] >= ends[p] for p in range(3)),
            procs, logs,
        )  # fmt: skip
        assert owned(log_b) == {0, 1, 2}, "the survivor took every partition"
        b.send_signal(signal.SIGTERM)
        assert b.wait(20) == 0, log_b.read_text()
    finally:
        watcher.close()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()

    outputs = read_topic(tansu, f"{topic}-scores", len(placed))
    keys = [r.key for r in outputs]
    assert len(keys) == len(placed), f"{len(keys) - len(placed):+d} outputs"
    assert set(keys) == set(placed)
    doc = orjson.loads(outputs[0].value)
    assert doc["id"] == keys[0].decode() and doc["model"] == "fraud"
    # The sink topic has one partition: its order is the order of writing. Per input partition,
    # the outputs follow the input offsets.
    order: dict[int, list[int]] = defaultdict(list)
    for key in keys:
        part, offset = placed[key]
        order[part].append(offset)
    for part, offsets in order.items():
        assert offsets == sorted(offsets), f"partition {part} out of order"
