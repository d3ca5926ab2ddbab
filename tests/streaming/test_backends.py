from __future__ import annotations

import re
import socket

import pytest

from modelport.errors import InvalidInput
from modelport.streaming.backends import default_consumer, make_sink, make_source
from modelport.streaming.kafka_backend import KafkaSink, KafkaSource
from modelport.streaming.redis_backend import RedisSink, RedisSource
from modelport.streaming.urls import parse_endpoint


def test_default_consumer_is_stable_and_names_host_and_model() -> None:
    name = default_consumer("fraud@production")
    assert name == default_consumer("fraud@production")
    host = re.sub(r"[^A-Za-z0-9._@:-]", "_", socket.gethostname())
    assert name == f"{host}-fraud@production"
    assert " " not in default_consumer("my model")


def test_the_url_scheme_picks_the_backend() -> None:
    redis_src = parse_endpoint("redis://h:1/0?stream=tx&group=g", role="source")
    kafka_src = parse_endpoint("kafka://b:9092/tx?group=g", role="source")
    assert isinstance(make_source(redis_src, consumer="c", claim_idle_ms=5), RedisSource)
    assert isinstance(make_source(kafka_src, consumer="c"), KafkaSource)
    assert isinstance(make_sink(parse_endpoint("redis://h:1/0?stream=o", role="sink")), RedisSink)
    assert isinstance(make_sink(parse_endpoint("kafka://b:9092/o", role="sink")), KafkaSink)


def test_a_sink_that_is_the_source_is_refused() -> None:
    src = parse_endpoint("kafka://b:9092/tx?group=g", role="source")
    with pytest.raises(InvalidInput, match="scored again"):
        make_sink(parse_endpoint("kafka://b:9092/tx", role="sink"), source=src)


def test_redis_source_settings_are_checked() -> None:
    ep = parse_endpoint("redis://h:1/0?stream=tx&group=g", role="source")
    with pytest.raises(InvalidInput, match="non-empty name"):
        make_source(ep, consumer="")
    with pytest.raises(InvalidInput, match="claim idle time must be >= 0"):
        make_source(ep, consumer="c", claim_idle_ms=-1)
