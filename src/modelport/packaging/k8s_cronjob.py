"""The batch CronJob: ``modelport batch run`` on a schedule, in the image ``modelport build``
makes, reading the registry URL from a Secret.

A run is resumable, so Kubernetes may restart a failed pod (``restartPolicy: OnFailure``) and
the restarted run finishes the same output; ``concurrencyPolicy: Forbid`` keeps two runs from
writing one output folder at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelport.errors import InvalidInput
from modelport.packaging.k8s_options import DEFAULT_IMAGE, check_k8s_name
from modelport.packaging.k8s_pod import (
    HOME,
    container_security,
    metadata,
    pod_security,
    secret_env,
    tmp_volume,
)

__all__ = ["CronJobSpec", "cronjob_manifest"]

_MAX_CRONJOB_NAME = 52  # Kubernetes appends 11 characters to name the Jobs


@dataclass(frozen=True, slots=True, kw_only=True)
class CronJobSpec:
    """What the CronJob manifest needs besides the command."""

    cron: str
    """Five-field cron expression (minute hour day-of-month month day-of-week) or @daily."""
    name: str
    image: str = DEFAULT_IMAGE
    """An image ``modelport build --no-model`` made (it has modelport as its entry point)."""
    namespace: str | None = None
    registry_secret: str = "modelport-registry"
    """Secret with key ``database-url``: the registry MODELPORT_DATABASE_URL."""
    artifact_root: str | None = None
    """fsspec URL of the artifact store, when the registry does not use MODELPORT_HOME's."""
    secret: str | None = None
    """More Secret keys to load as environment variables (cloud credentials, ...)."""

    def __post_init__(self) -> None:
        check_k8s_name(self.name, "CronJob name", limit=_MAX_CRONJOB_NAME)
        check_k8s_name(self.registry_secret, "--registry-secret", limit=253)
        if self.namespace is not None:
            check_k8s_name(self.namespace, "--namespace")
        if not self.image.strip() or any(c.isspace() for c in self.image):
            raise InvalidInput("--image must name the container image modelport build made, "
                               "e.g. registry.example.com/modelport:0.1.0")


def cronjob_manifest(spec: CronJobSpec, args: list[str], *, schedule: str) -> dict[str, Any]:
    """A ``batch/v1`` CronJob running ``modelport <args>`` on ``schedule``."""
    env: list[dict[str, Any]] = [
        {"name": "MODELPORT_HOME", "value": HOME},
        secret_env("MODELPORT_DATABASE_URL", spec.registry_secret, "database-url"),
    ]
    if spec.artifact_root:
        env.append({"name": "MODELPORT_ARTIFACT_ROOT", "value": spec.artifact_root})
    container: dict[str, Any] = {
        "name": "batch",
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        # The image's entry point is the server's boot; a batch run calls modelport itself.
        "command": ["modelport"],
        "args": list(args),
        "env": env,
        "securityContext": container_security(),
        "volumeMounts": [tmp_volume()[1]],
    }
    if spec.secret:
        container["envFrom"] = [{"secretRef": {"name": spec.secret}}]
    template = {
        "metadata": {"labels": metadata(spec.name, None, "batch")["labels"]},
        "spec": {
            "restartPolicy": "OnFailure",
            "automountServiceAccountToken": False,
            "securityContext": pod_security(),
            "containers": [container],
            "volumes": [tmp_volume()[0]],
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(spec.name, spec.namespace, "batch"),
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 3, "template": template}},
        },
    }
