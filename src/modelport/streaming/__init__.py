"""Stream scoring: score Redis Streams or Kafka events as they arrive, at least once.

Build a :class:`Scorer` from a :class:`ScoredModel`, a source and two sinks (results and dead
letters) made by :func:`make_source` / :func:`make_sink` from :func:`parse_endpoint` URLs,
then ``await scorer.run()``; :func:`stream_status` reads consumer-group status from the broker.
"""

from modelport.streaming.backends import default_consumer, make_sink, make_source
from modelport.streaming.base import Backlog, Message, Record, Sink, Source
from modelport.streaming.metrics import StreamMetrics
from modelport.streaming.scorer import ScoredModel, Scorer, ScorerStats, ScoringPolicy
from modelport.streaming.status import ConsumerStatus, GroupStatus, stream_status
from modelport.streaming.urls import (
    Endpoint,
    KafkaEndpoint,
    RedisEndpoint,
    dead_letter_for,
    parse_endpoint,
)

__all__ = [
    "Backlog",
    "ConsumerStatus",
    "Endpoint",
    "GroupStatus",
    "KafkaEndpoint",
    "Message",
    "Record",
    "RedisEndpoint",
    "ScoredModel",
    "Scorer",
    "ScorerStats",
    "ScoringPolicy",
    "Sink",
    "Source",
    "StreamMetrics",
    "dead_letter_for",
    "default_consumer",
    "make_sink",
    "make_source",
    "parse_endpoint",
    "stream_status",
]
