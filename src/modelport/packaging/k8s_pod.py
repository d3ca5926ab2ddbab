"""The pieces every modelport pod shares: labels, metadata, a locked-down container, volumes.

Containers run as the image's non-root user with a read-only root filesystem, no privilege
escalation and every capability dropped; the one writable place is ``/tmp`` (an emptyDir),
where ``MODELPORT_HOME`` lives. Credentials only ever arrive as ``secretKeyRef``s.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CONFIG_DIR",
    "HOME",
    "RUN_AS_USER",
    "container_security",
    "labels",
    "metadata",
    "pod_security",
    "secret_env",
    "tmp_volume",
]

HOME = "/tmp/modelport"
"""MODELPORT_HOME inside the image: under the one writable mount."""
CONFIG_DIR = "/etc/modelport"
RUN_AS_USER = 10001
"""The uid of the ``modelport`` user that ``modelport build`` creates in the image."""

Manifest = dict[str, Any]


def labels(name: str, component: str) -> dict[str, str]:
    """The recommended ``app.kubernetes.io`` labels; ``name`` + ``component`` select pods."""
    return {
        "app.kubernetes.io/name": "modelport",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "modelport",
    }


def metadata(name: str, namespace: str | None, component: str, **extra: Any) -> Manifest:
    meta: Manifest = {"name": name, "labels": labels(name, component), **extra}
    if namespace:
        meta["namespace"] = namespace
    return meta


def pod_security() -> Manifest:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> Manifest:
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def secret_env(variable: str, secret: str, key: str, *, optional: bool = False) -> Manifest:
    """One environment variable read from a Secret (the value never appears here)."""
    ref: Manifest = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": variable, "valueFrom": {"secretKeyRef": ref}}


def tmp_volume() -> tuple[Manifest, Manifest]:
    """(volume, mount) of the writable ``/tmp`` the read-only root filesystem needs."""
    return (
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        {"name": "tmp", "mountPath": "/tmp"},
    )
