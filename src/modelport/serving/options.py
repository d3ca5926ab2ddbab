"""Everything one ``modelport serve`` needs, composed from the settings and the command line."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from modelport.config import Settings
from modelport.errors import InvalidInput
from modelport.monitoring.config import MonitoringConfig
from modelport.routing.options import RoutingOptions
from modelport.security.config import SecurityConfig
from modelport.serving.batcher import BatchPolicy
from modelport.serving.cache import CachePolicy
from modelport.serving.models import ManagerConfig
from modelport.serving.rest import DEFAULT_MAX_BODY_BYTES
from modelport.serving.served import ModelOptions

__all__ = ["ServeConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeConfig:
    """The server: where it listens, how many processes, and which models it serves."""

    host: str = "127.0.0.1"
    """Address to bind."""

    port: int = 8080
    """REST port, shared by every worker."""

    grpc_port: int | None = 8081
    """gRPC port, shared by every worker through SO_REUSEPORT; None serves REST only."""

    workers: int = 1
    """Worker processes; each runs the REST and gRPC servers and its own model copies."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Requests with a larger body are refused with 413."""

    preload: bool = False
    """Load every listed model at start instead of on first use."""

    drain_timeout_s: float = 30.0
    """On SIGTERM, how long in-flight requests get to finish."""

    default_deadline_ms: float | None = None
    """Deadline of a request that sets none; past it a queued request is dropped, 504."""

    models: ManagerConfig = field(default_factory=ManagerConfig)
    """What to serve: references, batching, caching, LRU and alias polling."""

    routing: RoutingOptions = field(default_factory=RoutingOptions)
    """Deployments: traffic splits, rollout controller, measurement flushes."""

    security: SecurityConfig | None = None
    """Authentication, TLS, limits, audit and signatures; None: open, loopback only."""

    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    """Metrics, data contracts, the inference log, drift and performance checks, alerts."""

    extensions: tuple[str, ...] = ()
    """``module:function`` factories of REST extensions (the web console); see
    :mod:`modelport.serving.extensions`."""

    def __post_init__(self) -> None:
        if type(self.workers) is not int or self.workers < 1:
            raise InvalidInput(f"workers must be >= 1, got {self.workers!r}")
        for label, port in (("port", self.port), ("grpc_port", self.grpc_port)):
            if port is not None and not 0 <= port <= 65535:
                raise InvalidInput(f"{label} must be between 0 and 65535, got {port}")
        if self.grpc_port is not None and self.grpc_port == self.port and self.port != 0:
            raise InvalidInput(
                f"the REST and gRPC ports are both {self.port}; give --grpc-port another port"
            )
        if self.max_body_bytes < 1:
            raise InvalidInput(f"max_body_bytes must be >= 1, got {self.max_body_bytes}")
        deadline = self.default_deadline_ms
        if deadline is not None and not 0 < deadline < float("inf"):
            raise InvalidInput(f"default deadline must be > 0 ms, got {deadline}")

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        refs: tuple[str, ...] = (),
        *,
        host: str | None = None,
        port: int | None = None,
        grpc_port: int | None = None,
        grpc: bool = True,
        workers: int | None = None,
        max_body_bytes: int | None = None,
        max_loaded_models: int | None = None,
        max_batch_size: int | None = None,
        max_delay_ms: float | None = None,
        cache_size: int = 0,
        cache_ttl_s: float = 60.0,
        model_batch: Sequence[str] = (),
        model_cache: Sequence[str] = (),
        preload: bool = False,
        poll_interval_s: float = 1.5,
        drain_timeout_s: float = 30.0,
        default_deadline_ms: float | None = None,
        routing: RoutingOptions | None = None,
        security: SecurityConfig | None = None,
        monitoring: MonitoringConfig | None = None,
        extensions: Sequence[str] = (),
    ) -> ServeConfig:
        """Settings (environment or YAML), overridden by every option that is not None."""
        server = settings.server
        batching = settings.batching
        batch = BatchPolicy(
            max_size=batching.max_batch_size if max_batch_size is None else max_batch_size,
            max_delay_ms=batching.max_delay_ms if max_delay_ms is None else max_delay_ms,
        )
        cache = CachePolicy(max_entries=cache_size, ttl_s=cache_ttl_s) if cache_size else None
        default = ModelOptions(batch=batch, cache=cache)
        return cls(
            host=server.host if host is None else host,
            port=server.port if port is None else port,
            grpc_port=None if not grpc else (server.grpc_port if grpc_port is None else grpc_port),
            workers=(server.workers or os.cpu_count() or 1) if workers is None else workers,
            max_body_bytes=server.max_body_bytes if max_body_bytes is None else max_body_bytes,
            preload=preload,
            drain_timeout_s=drain_timeout_s,
            default_deadline_ms=(
                server.default_deadline_ms if default_deadline_ms is None else default_deadline_ms
            ),
            routing=routing or RoutingOptions(),
            security=security,
            monitoring=monitoring or MonitoringConfig(),
            extensions=tuple(extensions),
            models=ManagerConfig(
                refs=tuple(refs),
                max_loaded=(
                    server.max_loaded_models if max_loaded_models is None else max_loaded_models
                ),
                poll_interval_s=poll_interval_s,
                options=default,
                per_model=per_model_options(default, model_batch, model_cache),
            ),
        )


def per_model_options(
    default: ModelOptions, batch_specs: Sequence[str], cache_specs: Sequence[str]
) -> dict[str, ModelOptions]:
    """Per-model overrides from ``NAME=SIZE[:DELAY_MS]`` (batching) and
    ``NAME=ENTRIES[:TTL_S]`` (cache; ENTRIES 0 turns it off) options."""
    out: dict[str, ModelOptions] = {}
    for name, first, second in _specs(batch_specs, "--model-batch", "fraud=32:1.5"):
        base = out.get(name, default)
        delay = base.batch.max_delay_ms if second is None else second
        policy = BatchPolicy(max_size=_whole(first, "--model-batch"), max_delay_ms=delay)
        out[name] = replace(base, batch=policy)
    for name, first, second in _specs(cache_specs, "--model-cache", "fraud=10000:30"):
        base = out.get(name, default)
        entries = _whole(first, "--model-cache")
        ttl = (base.cache.ttl_s if base.cache else 60.0) if second is None else second
        cache = CachePolicy(max_entries=entries, ttl_s=ttl) if entries else None
        out[name] = replace(base, cache=cache)
    return out


def _specs(
    specs: Sequence[str], option: str, example: str
) -> Iterator[tuple[str, float, float | None]]:
    for spec in specs:
        name, sep, values = spec.partition("=")
        first, _, second = values.partition(":")
        try:
            if not sep or not name:
                raise ValueError
            yield name, float(first), float(second) if second else None
        except ValueError:
            raise InvalidInput(
                f"{option} takes NAME=NUMBER[:NUMBER], for example {option} {example}; "
                f"got {spec!r}"
            ) from None


def _whole(value: float, option: str) -> int:
    if value != int(value):
        raise InvalidInput(f"{option}: the first number must be a whole number, got {value}")
    return int(value)
