"""The ``modelport serve`` container as Kubernetes runs it: arguments, ports, probes, drain.

The same container spec goes into the Deployment, the KServe ServingRuntime and (trimmed to
one port) the Knative Service, so every path serves the model the same way.
"""

from __future__ import annotations

from typing import Any

import yaml

from modelport.packaging.k8s_options import ServingOptions
from modelport.packaging.k8s_pod import (
    CONFIG_DIR,
    HOME,
    container_security,
    secret_env,
    tmp_volume,
)

__all__ = [
    "CONFIG_FILE",
    "LIVE_PATH",
    "READY_PATH",
    "config_volume",
    "serve_args",
    "serve_container",
    "settings_yaml",
]

LIVE_PATH = "/v2/health/live"
READY_PATH = "/v2/health/ready"
CONFIG_FILE = f"{CONFIG_DIR}/modelport.yaml"

Manifest = dict[str, Any]


def serve_args(opts: ServingOptions) -> list[str]:
    """Arguments of ``modelport serve`` (the image's entry point takes them as they are)."""
    return [
        opts.model,
        "--config", CONFIG_FILE,
        "--host", "0.0.0.0",
        "--port", str(opts.http_port),
        "--grpc-port", str(opts.grpc_port),
        "--workers", str(opts.workers),
        "--drain-timeout", str(opts.drain_timeout_s),
        "--preload",  # ready means loaded: the readiness probe then gates real traffic
    ]  # fmt: skip


def settings_yaml(opts: ServingOptions) -> str:
    """The ``serve --config`` file the ConfigMap holds (no secrets: those come from env)."""
    registry: dict[str, Any] = {"home": HOME}
    if opts.artifact_root and not opts.model_in_image:
        registry["artifact_root"] = opts.artifact_root
    settings = {
        "registry": registry,
        "server": {
            "host": "0.0.0.0",
            "port": opts.http_port,
            "grpc_port": opts.grpc_port,
            "workers": opts.workers,
        },
        "batching": {"max_batch_size": 64, "max_delay_ms": 2.0},
    }
    return yaml.safe_dump(settings, sort_keys=False)


def config_volume(opts: ServingOptions) -> tuple[Manifest, Manifest]:
    """(volume, mount) of the ConfigMap holding ``modelport.yaml``."""
    return (
        {"name": "config", "configMap": {"name": opts.name}},
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
    )


def serve_env(opts: ServingOptions) -> list[Manifest]:
    env: list[Manifest] = [{"name": "MODELPORT_HOME", "value": HOME}]
    if not opts.model_in_image:
        env.append(secret_env("MODELPORT_DATABASE_URL", opts.registry_secret, "database-url"))
    if opts.auth_secret:
        env.append(secret_env("MODELPORT_JWT_SECRET", opts.auth_secret, "jwt-secret",
                              optional=True))
        env.append(secret_env("MODELPORT_LOG_HASH_SALT", opts.auth_secret, "log-hash-salt",
                              optional=True))
    return env


def serve_container(
    opts: ServingOptions, *, name: str = "modelport", grpc: bool = True, probes: bool = True
) -> Manifest:
    """The serving container: locked down, probed on the OIP health routes, draining on stop."""
    ports: list[Manifest] = [{"name": "http", "containerPort": opts.http_port, "protocol": "TCP"}]
    if grpc:
        ports.append({"name": "grpc", "containerPort": opts.grpc_port, "protocol": "TCP"})
    container: Manifest = {
        "name": name,
        "image": opts.image,
        "imagePullPolicy": "IfNotPresent",
        "args": serve_args(opts),
        "ports": ports,
        "env": serve_env(opts),
        "resources": {
            "requests": {"cpu": opts.cpu_request, "memory": opts.memory_request},
            "limits": {"cpu": opts.cpu_limit, "memory": opts.memory_limit},
        },
        "securityContext": container_security(),
        "volumeMounts": [tmp_volume()[1], config_volume(opts)[1]],
    }
    if probes:
        container["startupProbe"] = _probe(LIVE_PATH, opts.http_port, period=2, failures=60)
        container["livenessProbe"] = _probe(LIVE_PATH, opts.http_port, period=10, failures=3)
        container["readinessProbe"] = _probe(READY_PATH, opts.http_port, period=5, failures=2)
        container["lifecycle"] = {
            # Endpoints drop the pod while it sleeps; then SIGTERM starts the drain.
            "preStop": {"exec": {"command": ["sleep", str(opts.prestop_s)]}}
        }
    return container


def _probe(path: str, port: int, *, period: int, failures: int) -> Manifest:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }
