"""What ``deploy render`` needs to know, checked once: names, image, ports, sizes, Secrets.

One frozen value object; every field has a default a production cluster can start from, and a
bad value gets a message naming the flag and a value that would work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelport import __version__
from modelport.errors import InvalidInput
from modelport.registry.refs import parse_ref

__all__ = ["DEFAULT_IMAGE", "ServingOptions", "check_k8s_name", "default_app_name"]

DEFAULT_IMAGE = f"modelport:{__version__}"
"""The tag ``modelport build --no-model`` gives an image when no ``--tag`` is named."""

_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?")


def check_k8s_name(value: str, what: str, *, limit: int = 63) -> str:
    """``value`` if it is a valid Kubernetes object name (DNS label), else InvalidInput."""
    if len(value) > limit or not _K8S_NAME.fullmatch(value):
        raise InvalidInput(
            f"{what} {value!r} is not a valid Kubernetes name: use at most {limit} lowercase "
            "letters, digits and '-', starting and ending with a letter or digit "
            "(for example modelport-fraud)"
        )
    return value


def default_app_name(model_ref: str) -> str:
    """``modelport-<model>``, squeezed into a valid Kubernetes name."""
    model = re.sub(r"[^a-z0-9-]+", "-", parse_ref(model_ref).name.lower()).strip("-")
    return f"modelport-{model}"[:52].rstrip("-")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServingOptions:
    """One served model as Kubernetes objects; the defaults are the production starting point."""

    model: str
    """Reference served: ``fraud@production`` follows the alias as ``serve`` does."""
    name: str = ""
    """Name of every object (default ``modelport-<model>``)."""
    namespace: str | None = None
    image: str = DEFAULT_IMAGE
    """An image ``modelport build`` made (``--no-model`` for registry-pull mode)."""
    model_in_image: bool = False
    """The image carries the model (``modelport build`` without ``--no-model``): no registry."""
    replicas: int = 3
    max_replicas: int = 10
    workers: int = 2
    """``serve --workers`` inside each pod."""
    http_port: int = 8080
    grpc_port: int = 8081
    drain_timeout_s: int = 30
    """``serve --drain-timeout``; the pod's grace period leaves room above it."""
    cpu_request: str = "500m"
    cpu_limit: str = "2"
    memory_request: str = "512Mi"
    memory_limit: str = "2Gi"
    target_cpu_percent: int = 70
    target_rps_per_pod: int = 100
    """HPA target for ``modelport_requests_per_second`` (served by a Prometheus adapter)."""
    registry_secret: str = "modelport-registry"
    """Secret with key ``database-url`` (MODELPORT_DATABASE_URL)."""
    artifact_root: str | None = None
    """fsspec URL of the artifact store, e.g. s3://models/modelport (registry mode)."""
    auth_secret: str | None = "modelport-auth"
    """Secret with key ``jwt-secret`` (HS256 key file); None when API keys alone are used."""
    metrics_secret: str | None = "modelport-metrics"
    """Secret with key ``api-key``: a viewer key Prometheus scrapes ``/metrics`` with."""

    def __post_init__(self) -> None:
        parse_ref(self.model)
        if not self.name:
            object.__setattr__(self, "name", default_app_name(self.model))
        check_k8s_name(self.name, "--name", limit=52)
        if self.namespace is not None:
            check_k8s_name(self.namespace, "--namespace")
        for secret, flag in ((self.registry_secret, "--registry-secret"),
                             (self.auth_secret, "--auth-secret"),
                             (self.metrics_secret, "--metrics-secret")):
            if secret is not None:
                check_k8s_name(secret, flag, limit=253)
        if not self.image.strip() or any(c.isspace() for c in self.image):
            raise InvalidInput(f"--image {self.image!r} must name a container image, "
                               "e.g. registry.example.com/fraud:1.0")
        _at_least(self.replicas, 1, "--replicas")
        _at_least(self.max_replicas, self.replicas, "--max-replicas")
        _at_least(self.workers, 1, "--workers")
        _at_least(self.drain_timeout_s, 1, "--drain-timeout")
        _at_least(self.target_cpu_percent, 1, "--target-cpu")
        _at_least(self.target_rps_per_pod, 1, "--target-rps")
        for port, flag in ((self.http_port, "--port"), (self.grpc_port, "--grpc-port")):
            if not 1 <= port <= 65535:
                raise InvalidInput(f"{flag} must be a TCP port from 1 to 65535, got {port}")
        if self.http_port == self.grpc_port:
            raise InvalidInput(f"--port and --grpc-port must differ, both are {self.http_port}")
        for value, flag in ((self.cpu_request, "--cpu"), (self.cpu_limit, "--cpu-limit"),
                            (self.memory_request, "--memory"),
                            (self.memory_limit, "--memory-limit")):
            if not _QUANTITY.fullmatch(value):
                raise InvalidInput(f"{flag} {value!r} is not a Kubernetes quantity; "
                                   "write e.g. 500m or 2 (CPU), 512Mi or 2Gi (memory)")

    @property
    def grace_period_s(self) -> int:
        """Pod termination grace: the preStop pause, the drain, and 10 s of slack."""
        return self.prestop_s + self.drain_timeout_s + 10

    @property
    def prestop_s(self) -> int:
        """Seconds the preStop hook waits so endpoints stop routing before the drain starts."""
        return 5


def _at_least(value: int, low: int, flag: str) -> None:
    if value < low:
        raise InvalidInput(f"{flag} must be at least {low}, got {value}")
