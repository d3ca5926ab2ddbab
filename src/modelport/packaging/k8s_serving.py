"""The online-serving objects: Deployment, Service, HPA, PodDisruptionBudget, NetworkPolicy,
ServiceMonitor and the ConfigMap holding ``serve --config``."""

from __future__ import annotations

from typing import Any

from modelport.packaging.k8s_options import ServingOptions
from modelport.packaging.k8s_pod import labels, metadata, pod_security, tmp_volume
from modelport.packaging.k8s_server import config_volume, serve_container, settings_yaml

__all__ = [
    "RPS_METRIC",
    "config_map",
    "deployment",
    "hpa",
    "network_policy",
    "pod_disruption_budget",
    "service",
    "service_monitor",
]

RPS_METRIC = "modelport_requests_per_second"
"""Per-pod metric the HPA scales on; a Prometheus adapter rule derives it from
``rate(modelport_requests_total[1m])``."""

COMPONENT = "server"
Manifest = dict[str, Any]


def _selector(opts: ServingOptions) -> dict[str, str]:
    return {k: v for k, v in labels(opts.name, COMPONENT).items()
            if k != "app.kubernetes.io/managed-by"}


def config_map(opts: ServingOptions) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(opts.name, opts.namespace, COMPONENT),
        "data": {"modelport.yaml": settings_yaml(opts)},
    }


def deployment(opts: ServingOptions) -> Manifest:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(opts.name, opts.namespace, COMPONENT),
        "spec": {
            "replicas": opts.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": _selector(opts)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {
                    "labels": labels(opts.name, COMPONENT),
                    "annotations": {"kubectl.kubernetes.io/default-container": "modelport"},
                },
                "spec": {
                    "terminationGracePeriodSeconds": opts.grace_period_s,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security(),
                    "containers": [serve_container(opts)],
                    "volumes": [tmp_volume()[0], config_volume(opts)[0]],
                },
            },
        },
    }


def service(opts: ServingOptions) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(opts.name, opts.namespace, COMPONENT),
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(opts),
            "ports": [
                {"name": "http", "port": opts.http_port, "targetPort": "http",
                 "protocol": "TCP", "appProtocol": "http"},
                {"name": "grpc", "port": opts.grpc_port, "targetPort": "grpc",
                 "protocol": "TCP", "appProtocol": "grpc"},
            ],
        },
    }


def hpa(opts: ServingOptions) -> Manifest:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(opts.name, opts.namespace, COMPONENT),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": opts.name},
            "minReplicas": opts.replicas,
            "maxReplicas": opts.max_replicas,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {
                    "type": "Utilization", "averageUtilization": opts.target_cpu_percent}}},
                {"type": "Pods", "pods": {"metric": {"name": RPS_METRIC}, "target": {
                    "type": "AverageValue", "averageValue": str(opts.target_rps_per_pod)}}},
            ],
            "behavior": {
                "scaleDown": {"stabilizationWindowSeconds": 300,
                              "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]},
            },
        },
    }


def pod_disruption_budget(opts: ServingOptions) -> Manifest:
    spec: Manifest = {"selector": {"matchLabels": _selector(opts)}}
    if opts.replicas > 1:
        spec["minAvailable"] = opts.replicas - 1
    else:
        spec["maxUnavailable"] = 1
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(opts.name, opts.namespace, COMPONENT),
        "spec": spec,
    }


def network_policy(opts: ServingOptions) -> Manifest:
    """Ingress on the two serving ports only; egress is left open (registry, object store)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(opts.name, opts.namespace, COMPONENT),
        "spec": {
            "podSelector": {"matchLabels": _selector(opts)},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [
                {"protocol": "TCP", "port": opts.http_port},
                {"protocol": "TCP", "port": opts.grpc_port},
            ]}],
        },
    }


def service_monitor(opts: ServingOptions) -> Manifest:
    """Prometheus Operator scrape of ``/metrics`` (with a viewer key when one is named)."""
    endpoint: Manifest = {"port": "http", "path": "/metrics", "interval": "15s"}
    if opts.metrics_secret:
        endpoint["authorization"] = {
            "type": "Bearer",
            "credentials": {"name": opts.metrics_secret, "key": "api-key"},
        }
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(opts.name, opts.namespace, COMPONENT),
        "spec": {
            "selector": {"matchLabels": _selector(opts)},
            "endpoints": [endpoint],
        },
    }
