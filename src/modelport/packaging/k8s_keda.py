"""Stream scoring on Kubernetes: a Deployment running ``modelport stream run``, scaled by a KEDA
ScaledObject on the consumer group's backlog (Redis stream pending entries or Kafka lag).

Stream URLs are written into the manifests as given, so they must not carry a password
(rendering refuses one); a broker that needs credentials is not covered yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from modelport.errors import InvalidInput
from modelport.packaging.k8s_options import ServingOptions
from modelport.packaging.k8s_pod import (
    HOME,
    container_security,
    labels,
    metadata,
    pod_security,
    secret_env,
    tmp_volume,
)
from modelport.streaming.urls import KafkaEndpoint, RedisEndpoint, parse_endpoint

__all__ = ["StreamOptions", "scaled_object", "stream_deployment"]

COMPONENT = "stream"
Manifest = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamOptions:
    """The ``stream run`` this Deployment runs and the backlog that scales it."""

    source: str
    sink: str
    max_replicas: int = 10
    backlog_per_replica: int = 1000
    """Pending entries (Redis) or lag (Kafka) one scorer is expected to keep up with."""

    def __post_init__(self) -> None:
        for url, flag in ((self.source, "--stream-source"), (self.sink, "--stream-sink")):
            if urlsplit(url).password:
                raise InvalidInput(f"{flag} must not carry a password: the URL is written into "
                                   "the manifests in plain text")
        if not isinstance(self.endpoint, RedisEndpoint | KafkaEndpoint) or not self.endpoint.group:
            raise InvalidInput("--stream-source needs a consumer group for KEDA to measure, "
                               "e.g. redis://redis:6379/0?stream=tx&group=scorer")
        parse_endpoint(self.sink, role="sink")
        if self.backlog_per_replica < 1:
            raise InvalidInput("--stream-backlog must be at least 1")

    @property
    def endpoint(self) -> RedisEndpoint | KafkaEndpoint:
        return parse_endpoint(self.source, role="source")


def _name(opts: ServingOptions) -> str:
    return f"{opts.name}-stream"


def stream_deployment(opts: ServingOptions, stream: StreamOptions) -> Manifest:
    name = _name(opts)
    env: list[Manifest] = [{"name": "MODELPORT_HOME", "value": HOME}]
    if not opts.model_in_image:
        env.append(secret_env("MODELPORT_DATABASE_URL", opts.registry_secret, "database-url"))
    selector = {k: v for k, v in labels(name, COMPONENT).items()
                if k != "app.kubernetes.io/managed-by"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(name, opts.namespace, COMPONENT),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels(name, COMPONENT)},
                "spec": {
                    "terminationGracePeriodSeconds": 60,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security(),
                    "containers": [{
                        "name": "stream",
                        "image": opts.image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["modelport"],
                        "args": ["stream", "run", opts.model, "--source", stream.source,
                                 "--sink", stream.sink, "--metrics-port", "9090"],
                        "ports": [{"name": "metrics", "containerPort": 9090, "protocol": "TCP"}],
                        "env": env,
                        "resources": {
                            "requests": {"cpu": opts.cpu_request, "memory": opts.memory_request},
                            "limits": {"cpu": opts.cpu_limit, "memory": opts.memory_limit},
                        },
                        "securityContext": container_security(),
                        "volumeMounts": [tmp_volume()[1]],
                    }],
                    "volumes": [tmp_volume()[0]],
                },
            },
        },
    }


def scaled_object(opts: ServingOptions, stream: StreamOptions) -> Manifest:
    endpoint = stream.endpoint
    trigger: Manifest
    if isinstance(endpoint, RedisEndpoint):
        address = urlsplit(endpoint.url)
        trigger = {
            "type": "redis-streams",
            "metadata": {
                "address": f"{address.hostname}:{address.port or 6379}",
                "databaseIndex": (address.path.strip("/") or "0"),
                "stream": endpoint.stream,
                "consumerGroup": str(endpoint.group),
                "pendingEntriesCount": str(stream.backlog_per_replica),
            },
        }
    else:
        trigger = {
            "type": "kafka",
            "metadata": {
                "bootstrapServers": endpoint.bootstrap,
                "consumerGroup": str(endpoint.group),
                "topic": endpoint.topic,
                "lagThreshold": str(stream.backlog_per_replica),
            },
        }
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": metadata(_name(opts), opts.namespace, COMPONENT),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                               "name": _name(opts)},
            "minReplicaCount": 0,
            "maxReplicaCount": stream.max_replicas,
            "pollingInterval": 15,
            "cooldownPeriod": 300,
            "triggers": [trigger],
        },
    }
