"""Scale to zero: a KServe ServingRuntime + InferenceService, and a plain Knative Service.

KServe routes OIP V2 (``protocolVersions: [v2, grpc-v2]``) to the runtime container's one HTTP
port, so the modelport image serves there unchanged. Knative allows one port per container:
that variant serves REST only (gRPC needs the Deployment or KServe).
"""

from __future__ import annotations

from typing import Any

from modelport.packaging.k8s_options import ServingOptions
from modelport.packaging.k8s_pod import metadata, tmp_volume
from modelport.packaging.k8s_server import LIVE_PATH, READY_PATH, config_volume, serve_container

__all__ = ["MODEL_FORMAT", "inference_service", "knative_service", "serving_runtime"]

MODEL_FORMAT = "modelport"
COMPONENT = "serverless"
Manifest = dict[str, Any]


def serving_runtime(opts: ServingOptions) -> Manifest:
    container = serve_container(opts, name="kserve-container", probes=False)
    # KServe gives the runtime one HTTP port (8080) and, for grpc-v2, an h2c port.
    container["ports"] = [
        {"name": "h2c", "containerPort": opts.grpc_port, "protocol": "TCP"}
        if p["name"] == "grpc" else {**p, "name": "http1"}
        for p in container["ports"]
    ]
    container["readinessProbe"] = {"httpGet": {"path": READY_PATH, "port": opts.http_port}}
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ServingRuntime",
        "metadata": metadata(opts.name, opts.namespace, COMPONENT),
        "spec": {
            "supportedModelFormats": [
                {"name": MODEL_FORMAT, "version": "1", "autoSelect": True},
            ],
            "protocolVersions": ["v2", "grpc-v2"],
            "containers": [container],
            "volumes": [tmp_volume()[0], config_volume(opts)[0]],
        },
    }


def inference_service(opts: ServingOptions) -> Manifest:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata(opts.name, opts.namespace, COMPONENT),
        "spec": {
            "predictor": {
                "minReplicas": 0,
                "maxReplicas": opts.max_replicas,
                "scaleMetric": "concurrency",
                "scaleTarget": 8 * opts.workers,
                "model": {
                    "modelFormat": {"name": MODEL_FORMAT, "version": "1"},
                    "runtime": opts.name,
                    "protocolVersion": "v2",
                },
            }
        },
    }


def knative_service(opts: ServingOptions) -> Manifest:
    container = serve_container(opts, grpc=False, probes=False)
    del container["ports"][0]["protocol"]
    container["ports"][0]["name"] = "http1"
    port = opts.http_port  # Knative accepts only the container's own port here
    container["readinessProbe"] = {"httpGet": {"path": READY_PATH, "port": port},
                                   "periodSeconds": 2}
    container["livenessProbe"] = {"httpGet": {"path": LIVE_PATH, "port": port},
                                  "periodSeconds": 10}
    name = f"{opts.name}-kn"
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": metadata(name, opts.namespace, COMPONENT),
        "spec": {
            "template": {
                "metadata": {"annotations": {
                    "autoscaling.knative.dev/min-scale": "0",
                    "autoscaling.knative.dev/max-scale": str(opts.max_replicas),
                    "autoscaling.knative.dev/target": str(8 * opts.workers),
                }},
                "spec": {
                    "containerConcurrency": 0,
                    "timeoutSeconds": 300,
                    "containers": [container],
                    "volumes": [tmp_volume()[0], config_volume(opts)[0]],
                },
            }
        },
    }
