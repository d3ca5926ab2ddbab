from __future__ import annotations

import pytest

from modelport.errors import InvalidInput
from modelport.streaming.urls import (
    KafkaEndpoint,
    RedisEndpoint,
    dead_letter_for,
    parse_endpoint,
)


def test_redis_source_url_gives_connection_stream_and_group() -> None:
    ep = parse_endpoint("redis://localhost:6379/2?stream=transactions&group=scorer", role="source")
    assert ep == RedisEndpoint(
        url="redis://localhost:6379/2", stream="transactions", group="scorer"
    )


def test_redis_url_defaults_port_and_database_and_keeps_password() -> None:
    ep = parse_endpoint("redis://:s3cret@cache?stream=scores", role="sink")
    assert isinstance(ep, RedisEndpoint)
    assert ep.url == "redis://:s3cret@cache:6379/0"
    assert ep.dedup_ttl_s == 86_400 and ep.maxlen is None


def test_redis_sink_options() -> None:
    ep = parse_endpoint("redis://h:1/0?stream=s&maxlen=1000&dedup_ttl=0", role="sink")
    assert isinstance(ep, RedisEndpoint)
    assert (ep.maxlen, ep.dedup_ttl_s) == (1000, 0)


def test_kafka_url_gives_brokers_topic_and_group() -> None:
    ep = parse_endpoint("kafka://b1:9092,b2/transactions?group=scorer", role="source")
    assert ep == KafkaEndpoint(bootstrap="b1:9092,b2:9092", topic="transactions", group="scorer")
    manual = parse_endpoint("kafka://b1:9092/t?group=g&assignment=manual", role="source")
    assert isinstance(manual, KafkaEndpoint) and manual.assignment == "manual"
    tuned = parse_endpoint("kafka://b1/t?group=g&session_timeout_ms=6000", role="source")
    assert isinstance(tuned, KafkaEndpoint) and tuned.session_timeout_ms == 6000
    sink = parse_endpoint("kafka://b1/scores?dedup=true", role="sink")
    assert isinstance(sink, KafkaEndpoint) and sink.dedup


@pytest.mark.parametrize(
    ("url", "role", "needle"),
    [
        ("", "source", "a stream URL is required"),
        ("http://x/y", "source", "unsupported stream URL"),
        ("redis://localhost:6379/0?group=g", "source", "names no stream"),
        ("redis://localhost:6379/0?stream=s", "source", "names no consumer group"),
        ("redis://localhost:6379/transactions?stream=s&group=g", "source", "database number"),
        ("redis://localhost:abc/0?stream=s&group=g", "source", "port must be a number"),
        ("redis://localhost/0?stream=s&group=g&colour=red", "source", "unknown parameter 'colour'"),
        ("redis://localhost/0?stream=s&group=g&start=5", "source", "start must be 0"),
        ("redis://localhost/0?stream=s&maxlen=-3", "sink", "maxlen must be a whole number"),
        ("redis://localhost/0?stream=s&stream=t", "sink", "exactly once"),
        ("redis://localhost/0?stream=s&group=g", "sink", "unknown parameter 'group'"),
        ("kafka://broker:9092/t", "source", "names no consumer group"),
        ("kafka:///t?group=g", "source", "names no broker"),
        ("kafka://broker:x/t?group=g", "source", "must be host:port"),
        ("kafka://broker:9092/?group=g", "source", "exactly one topic"),
        ("kafka://broker:9092/a/b?group=g", "source", "exactly one topic"),
        ("kafka://broker:9092/t?group=g&assignment=sticky", "source", "assignment must be"),
        ("kafka://broker:9092/t?dedup=yes", "sink", "dedup must be true"),
        ("kafka://broker:9092/t?group=g&dedup=true", "source", "unknown parameter 'dedup'"),
        ("kafka://b/t?group=g&session_timeout_ms=0", "source", "session_timeout_ms must be"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, role: str, needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        parse_endpoint(url, role=role)  # type: ignore[arg-type]


def test_dead_letter_defaults_beside_the_source() -> None:
    redis_src = parse_endpoint("redis://h:1/3?stream=tx&group=g", role="source")
    assert dead_letter_for(redis_src) == RedisEndpoint(url="redis://h:1/3", stream="tx.dead-letter")
    kafka_src = parse_endpoint("kafka://b:9092/tx?group=g", role="source")
    assert dead_letter_for(kafka_src) == KafkaEndpoint(bootstrap="b:9092", topic="tx.dead-letter")


def test_same_stream_compares_server_and_name() -> None:
    a = parse_endpoint("redis://h:1/0?stream=tx&group=g", role="source")
    assert a.same_stream(parse_endpoint("redis://h:1/0?stream=tx", role="sink"))
    assert not a.same_stream(parse_endpoint("redis://h:1/1?stream=tx", role="sink"))
    assert not a.same_stream(parse_endpoint("kafka://h:1/tx", role="sink"))
