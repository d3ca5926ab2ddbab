"""Validation helpers: kubernetes-validate's bundled, strict schemas (offline)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from referencing import Registry, Resource

VERSIONS = ("1.30.0", "1.37.0")
"""Two Kubernetes releases every core manifest must pass, strictly (no unknown fields)."""

CORE_KINDS = {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler",
              "PodDisruptionBudget", "NetworkPolicy", "CronJob"}


def validate_core(manifest: dict[str, Any], version: str) -> str:
    """kubernetes-validate --strict on one object; the schema version it used."""
    return str(kubernetes_validate.validate(manifest, version, strict=True))


@cache
def _definitions(version: str) -> dict[str, Any]:
    folder = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    minor = ".".join(version.split(".")[:2])
    path = folder / f"v{minor}.0-local-strict" / "_definitions.json"
    return dict(json.loads(path.read_text()))


def validate_fragment(value: Any, definition: str, version: str) -> None:
    """Check a piece of a custom resource (a Container, a PodSpec, ObjectMeta) against the
    strict Kubernetes definition it embeds, e.g. ``io.k8s.api.core.v1.Container``."""
    defs = _definitions(version)
    schema = {"$id": "https://kubernetes.io/api/fragment.json",
              "$ref": f"/api/_definitions.json#/$defs/{definition}"}
    registry: Registry = Resource.from_contents(defs) @ Registry()
    jsonschema.Draft202012Validator(schema, registry=registry).validate(value)
