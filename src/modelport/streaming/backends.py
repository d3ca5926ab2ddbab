"""Endpoints to live sources and sinks: the one place that picks a backend by URL scheme.

Backends import their client library lazily, so a missing optional extra is a clear
``MissingDependency`` naming the extra to install, not an ImportError at startup.
"""

from __future__ import annotations

import re
import socket
from types import ModuleType

from modelport.errors import InvalidInput, MissingDependency
from modelport.streaming.base import Sink, Source
from modelport.streaming.urls import Endpoint, RedisEndpoint

__all__ = ["default_consumer", "make_sink", "make_source"]


def make_source(
    endpoint: Endpoint, *, consumer: str, field: str = "data", claim_idle_ms: int = 30_000
) -> Source:
    """A source reading ``endpoint`` as the stable consumer ``consumer`` of its group."""
    if isinstance(endpoint, RedisEndpoint):
        redis_source: Source = _redis().RedisSource(
            endpoint, consumer=consumer, field=field, claim_idle_ms=claim_idle_ms
        )
        return redis_source
    kafka_source: Source = _kafka().KafkaSource(endpoint, consumer=consumer)
    return kafka_source


def make_sink(endpoint: Endpoint, *, field: str = "data", source: Endpoint | None = None) -> Sink:
    """A sink writing to ``endpoint``; refuses the source itself (that would score forever)."""
    if source is not None and endpoint.same_stream(source):
        raise InvalidInput(
            f"the sink {endpoint} is the source stream itself: outputs would be scored again; "
            "write to another stream or topic"
        )
    if isinstance(endpoint, RedisEndpoint):
        redis_sink: Sink = _redis().RedisSink(endpoint, field=field)
        return redis_sink
    kafka_sink: Sink = _kafka().KafkaSink(endpoint)
    return kafka_sink


def default_consumer(model_ref: str) -> str:
    """``<hostname>-<model ref>``: the same on every restart on this host.

    Two scorers of one model on one host need distinct ``--consumer`` names.
    """
    host = socket.gethostname() or "localhost"
    return re.sub(r"[^A-Za-z0-9._@:-]", "_", f"{host}-{model_ref}")


def _redis() -> ModuleType:
    try:
        from modelport.streaming import redis_backend
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] == "redis":
            raise MissingDependency.for_extra("redis", "redis") from exc
        raise
    return redis_backend


def _kafka() -> ModuleType:
    try:
        from modelport.streaming import kafka_backend
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] == "kafka":
            raise MissingDependency.for_extra("kafka-python", "kafka") from exc
        raise
    return kafka_backend
