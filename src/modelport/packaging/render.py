"""``deploy render``: every manifest for one served model, laid out by what needs what.

    <out>/*.yaml                   core: ConfigMap, Deployment, Service, HPA, PDB, NetworkPolicy
    <out>/prometheus/              ServiceMonitor (needs the Prometheus Operator)
    <out>/kserve/                  ServingRuntime + InferenceService (needs KServe; scale to zero)
    <out>/knative/                 a Knative Service (needs Knative Serving; scale to zero)
    <out>/keda/                    stream scorer Deployment + ScaledObject (with --stream-source)

``kubectl apply -f <out>/`` applies the core alone; each folder adds one optional piece.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelport.packaging import k8s_keda, k8s_serverless, k8s_serving
from modelport.packaging.k8s_keda import StreamOptions
from modelport.packaging.k8s_options import ServingOptions

__all__ = ["SecretRef", "referenced_secrets", "render"]

Manifest = dict[str, Any]


def render(opts: ServingOptions, stream: StreamOptions | None = None) -> dict[str, list[Manifest]]:
    """Relative file name -> the manifests it holds."""
    files: dict[str, list[Manifest]] = {
        "configmap.yaml": [k8s_serving.config_map(opts)],
        "deployment.yaml": [k8s_serving.deployment(opts)],
        "service.yaml": [k8s_serving.service(opts)],
        "hpa.yaml": [k8s_serving.hpa(opts)],
        "pdb.yaml": [k8s_serving.pod_disruption_budget(opts)],
        "networkpolicy.yaml": [k8s_serving.network_policy(opts)],
        "prometheus/servicemonitor.yaml": [k8s_serving.service_monitor(opts)],
        "kserve/inferenceservice.yaml": [
            k8s_serverless.serving_runtime(opts),
            k8s_serverless.inference_service(opts),
        ],
        "knative/service.yaml": [k8s_serverless.knative_service(opts)],
    }
    if stream is not None:
        files["keda/stream.yaml"] = [
            k8s_keda.stream_deployment(opts, stream),
            k8s_keda.scaled_object(opts, stream),
        ]
    return files


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A Secret key some manifest reads (the operator creates it; we never write values)."""

    name: str
    key: str
    optional: bool


def referenced_secrets(files: dict[str, list[Manifest]]) -> list[SecretRef]:
    """Every ``secretKeyRef`` / Bearer credential the manifests name, sorted, once each."""
    found: dict[tuple[str, str], bool] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("secretKeyRef") or node.get("credentials")
            if isinstance(ref, dict) and "name" in ref and "key" in ref:
                key = (ref["name"], ref["key"])
                found[key] = found.get(key, True) and bool(ref.get("optional", False))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(files)
    return [SecretRef(name, key, optional) for (name, key), optional in sorted(found.items())]
