"""What the manifests mean, not only their shape: probes answer on the real server, container
arguments parse as the real ``modelport serve``, ports and names line up, the drain fits in
the grace period, and no Secret value is ever written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
import yaml

from modelport.cli.serve_cmd import serve
from modelport.config import load_settings
from modelport.errors import InvalidInput
from modelport.packaging.k8s_keda import StreamOptions
from modelport.packaging.k8s_options import ServingOptions
from modelport.packaging.render import referenced_secrets, render
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.rest import RestApp
from modelport.serving.source import StaticSource

from ..serving.tiny import Scaler

OPTS = ServingOptions(model="fraud@production", http_port=9000, grpc_port=9001, workers=3,
                      drain_timeout_s=40, artifact_root="s3://models/mp")
STREAM = StreamOptions(source="redis://redis:6379/2?stream=tx&group=scorer",
                       sink="redis://redis:6379/2?stream=scores")
FILES = render(OPTS, STREAM)


def _one(kind: str, api: str | None = None) -> dict[str, Any]:
    found = [m for ms in FILES.values() for m in ms
             if m["kind"] == kind and (api is None or m["apiVersion"] == api)]
    assert len(found) == 1, kind
    return found[0]


def _serve_params(args: list[str]) -> dict[str, Any]:
    """The arguments as the real ``modelport serve`` command parses them."""
    app = typer.Typer()
    app.command()(serve)
    command = typer.main.get_command(app)
    with command.make_context("serve", list(args)) as ctx:
        return dict(ctx.params)


def _containers() -> list[dict[str, Any]]:
    pods = [FILES["deployment.yaml"][0]["spec"]["template"]["spec"]]
    runtime = _one("ServingRuntime")["spec"]
    knative = _one("Service", "serving.knative.dev/v1")["spec"]["template"]["spec"]
    return [c for pod in [*pods, runtime, knative] for c in pod["containers"]]


def test_container_arguments_parse_as_the_real_serve_command() -> None:
    for container in _containers():
        params = _serve_params(container["args"])
        assert params["refs"] == ["fraud@production"]
        assert params["port"] == 9000 and params["host"] == "0.0.0.0"
        assert params["grpc_port"] == 9001 and params["workers"] == 3
        assert params["drain_timeout"] == 40.0
        ports = {p["containerPort"] for p in container["ports"]}
        assert 9000 in ports and ports <= {9000, 9001}


def test_the_configmap_is_a_settings_file_serve_reads(tmp_path: Path) -> None:
    data = _one("ConfigMap")["data"]["modelport.yaml"]
    (tmp_path / "modelport.yaml").write_text(data)
    settings = load_settings(tmp_path / "modelport.yaml")
    assert (settings.server.port, settings.server.grpc_port) == (9000, 9001)
    assert settings.registry.artifact_root == "s3://models/mp"
    mount = next(m for m in _containers()[0]["volumeMounts"] if m["name"] == "config")
    assert _serve_params(_containers()[0]["args"])["config"] == Path(mount["mountPath"]) / (
        "modelport.yaml")


@pytest.fixture
async def server() -> AsyncIterator[httpx.AsyncClient]:
    source = StaticSource()
    source.add("fraud", 1, lambda: Scaler(2.0), aliases=("production",))
    plane = DataPlane(ModelManager(source, ManagerConfig(refs=("fraud@production",))))
    await plane.start()
    transport = httpx.ASGITransport(app=RestApp(plane, max_body_bytes=4096))
    async with httpx.AsyncClient(transport=transport, base_url="http://pod") as client:
        yield client
    await plane.stop()


async def test_every_probe_answers_200_on_the_real_rest_app(server: httpx.AsyncClient) -> None:
    paths = set()
    for container in _containers():
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe in container:
                get = container[probe]["httpGet"]
                assert get["port"] == 9000  # the REST port, not gRPC
                paths.add(get["path"])
    assert paths == {"/v2/health/live", "/v2/health/ready"}
    for path in paths:
        assert (await server.get(path)).status_code == 200
    assert (await server.get("/v2/health/nope")).status_code == 404  # the check can fail


def test_the_drain_fits_inside_the_grace_period() -> None:
    pod = FILES["deployment.yaml"][0]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    drain = _serve_params(container["args"])["drain_timeout"]
    assert sleep + drain < pod["terminationGracePeriodSeconds"]


def test_names_ports_and_selectors_line_up() -> None:
    deployment = FILES["deployment.yaml"][0]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    container_ports = {p["name"]: p["containerPort"]
                       for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    service = FILES["service.yaml"][0]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    for port in service["spec"]["ports"]:
        assert container_ports[port["targetPort"]] == port["port"]
    assert {p["name"] for p in service["spec"]["ports"]} == {"http", "grpc"}
    hpa = FILES["hpa.yaml"][0]["spec"]
    assert hpa["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["minReplicas"] == deployment["spec"]["replicas"] == 3
    assert {m["type"] for m in hpa["metrics"]} == {"Resource", "Pods"}
    pdb = FILES["pdb.yaml"][0]["spec"]
    assert pdb["minAvailable"] < deployment["spec"]["replicas"]  # a node drain can proceed
    policy = FILES["networkpolicy.yaml"][0]["spec"]
    assert {p["port"] for p in policy["ingress"][0]["ports"]} == set(container_ports.values())
    monitor = _one("ServiceMonitor")["spec"]
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["endpoints"][0]["port"] == "http"
    assert monitor["endpoints"][0]["path"] == "/metrics"
    isvc = _one("InferenceService")["spec"]["predictor"]
    assert isvc["model"]["runtime"] == _one("ServingRuntime")["metadata"]["name"]
    assert isvc["minReplicas"] == 0  # scale to zero
    scaled = _one("ScaledObject")["spec"]
    stream = next(m for m in FILES["keda/stream.yaml"] if m["kind"] == "Deployment")
    assert scaled["scaleTargetRef"]["name"] == stream["metadata"]["name"]
    assert scaled["triggers"][0]["metadata"] == {
        "address": "redis:6379", "databaseIndex": "2", "stream": "tx",
        "consumerGroup": "scorer", "pendingEntriesCount": "1000"}


def test_pods_run_locked_down() -> None:
    for container in _containers():
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def test_no_secret_value_is_written_only_references() -> None:
    text = yaml.safe_dump_all([m for ms in FILES.values() for m in ms])
    assert "kind: Secret" not in text
    for container in _containers():
        for env in container["env"]:
            if any(word in env["name"] for word in ("SECRET", "SALT", "DATABASE_URL", "KEY")):
                assert set(env) == {"name", "valueFrom"}, env["name"]
    assert {(s.name, s.key) for s in referenced_secrets(FILES)} == {
        ("modelport-registry", "database-url"), ("modelport-auth", "jwt-secret"),
        ("modelport-auth", "log-hash-salt"), ("modelport-metrics", "api-key")}


def test_an_image_with_the_model_needs_no_registry_secret() -> None:
    files = render(ServingOptions(model="fraud:1", model_in_image=True, auth_secret=None,
                                  metrics_secret=None))
    assert referenced_secrets(files) == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"replicas": 0}, "--replicas must be at least 1, got 0"),
    ({"name": "Fraud_Model"}, "--name 'Fraud_Model' is not a valid Kubernetes name"),
    ({"http_port": 8081}, "--port and --grpc-port must differ"),
    ({"memory_limit": "2GB"}, "--memory-limit '2GB' is not a Kubernetes quantity"),
    ({"image": "my image"}, "--image 'my image' must name a container image"),
    ({"model": "fraud@"}, "invalid model reference"),
])
def test_bad_options_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        ServingOptions(**{"model": "fraud", **kwargs})


def test_stream_urls_with_passwords_or_no_group_are_refused() -> None:
    with pytest.raises(InvalidInput, match="must not carry a password"):
        StreamOptions(source="redis://:pw@r:6379/0?stream=s&group=g", sink="redis://r/0?stream=o")
    with pytest.raises(InvalidInput, match="names no consumer group"):
        StreamOptions(source="redis://r:6379/0?stream=s", sink="redis://r/0?stream=o")
