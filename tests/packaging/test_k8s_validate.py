"""Every rendered manifest passes kubernetes-validate --strict for two Kubernetes releases;
custom resources have their embedded Kubernetes types (Container, PodSpec, ObjectMeta,
SecretKeySelector) checked against the same strict schemas."""

from __future__ import annotations

from typing import Any

import pytest

from modelport.packaging.k8s_cronjob import CronJobSpec, cronjob_manifest
from modelport.packaging.k8s_keda import StreamOptions
from modelport.packaging.k8s_options import ServingOptions
from modelport.packaging.render import render

from .k8s_helpers import CORE_KINDS, VERSIONS, validate_core, validate_fragment

REDIS = StreamOptions(source="redis://redis:6379/0?stream=tx&group=scorer",
                      sink="redis://redis:6379/0?stream=scores")
KAFKA = StreamOptions(source="kafka://broker:9092/tx?group=scorer", sink="kafka://broker:9092/out")


def _all(opts: ServingOptions, stream: StreamOptions) -> list[dict[str, Any]]:
    return [m for manifests in render(opts, stream).values() for m in manifests]


VARIANTS = {
    "registry": (ServingOptions(model="fraud@production", artifact_root="s3://m/mp"), REDIS),
    "baked": (ServingOptions(model="fraud:3", model_in_image=True, namespace="ml",
                             replicas=1, auth_secret=None, metrics_secret=None), KAFKA),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_core_manifests_pass_strict_validation(variant: str, version: str) -> None:
    manifests = [m for m in _all(*VARIANTS[variant]) if m["kind"] in CORE_KINDS
                 and m["apiVersion"] != "serving.knative.dev/v1"]
    kinds = sorted({m["kind"] for m in manifests})
    assert kinds == ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy",
                     "PodDisruptionBudget", "Service"]
    for manifest in manifests:
        assert validate_core(manifest, version) == version.rsplit(".", 1)[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_strict_validation_would_catch_a_mistake(version: str) -> None:
    import kubernetes_validate

    deployment = next(m for m in _all(*VARIANTS["registry"]) if m["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}  # typo
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_core(deployment, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_batch_cronjob_passes_strict_validation(version: str) -> None:
    spec = CronJobSpec(cron="0 2 * * *", name="modelport-batch-fraud", image="reg/mp:0.1.0",
                       namespace="ml", artifact_root="s3://m/mp", secret="cloud")
    manifest = cronjob_manifest(spec, ["batch", "run", "fraud", "--input", "s3://i/",
                                       "--output", "s3://o/"], schedule="0 2 * * *")
    assert validate_core(manifest, version) == version.rsplit(".", 1)[0]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_custom_resources_embed_valid_kubernetes_types(variant: str, version: str) -> None:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for manifest in _all(*VARIANTS[variant]):
        by_kind.setdefault(manifest["kind"], []).append(manifest)
        validate_fragment(manifest["metadata"], "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                          version)
    (runtime,) = by_kind["ServingRuntime"]
    for container in runtime["spec"]["containers"]:
        validate_fragment(container, "io.k8s.api.core.v1.Container", version)
    for volume in runtime["spec"]["volumes"]:
        validate_fragment(volume, "io.k8s.api.core.v1.Volume", version)
    knative = next(m for m in by_kind["Service"] if m["apiVersion"] == "serving.knative.dev/v1")
    # A Knative RevisionSpec is a PodSpec plus containerConcurrency and timeoutSeconds.
    revision = dict(knative["spec"]["template"]["spec"])
    assert isinstance(revision.pop("containerConcurrency"), int)
    assert isinstance(revision.pop("timeoutSeconds"), int)
    validate_fragment(revision, "io.k8s.api.core.v1.PodSpec", version)
    validate_fragment(knative["spec"]["template"]["metadata"],
                      "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", version)
    (monitor,) = by_kind["ServiceMonitor"]
    validate_fragment(monitor["spec"]["selector"],
                      "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", version)
    for endpoint in monitor["spec"]["endpoints"]:
        if "authorization" in endpoint:
            validate_fragment(endpoint["authorization"]["credentials"],
                              "io.k8s.api.core.v1.SecretKeySelector", version)
    (scaled,) = by_kind["ScaledObject"]
    validate_fragment(scaled["spec"]["scaleTargetRef"],
                      "io.k8s.api.autoscaling.v1.CrossVersionObjectReference", version)
    assert all(isinstance(v, str) for t in scaled["spec"]["triggers"]
               for v in t["metadata"].values())  # KEDA's schema: metadata is string -> string
