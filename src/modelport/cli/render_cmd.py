"""``modelport deploy render``: Kubernetes, KServe, Knative and KEDA manifests for one model.

Only names and settings go in: Secret values are never read or written, the manifests
reference them. Offline: nothing here opens the registry or a cluster.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from modelport.cli.output import console, print_table
from modelport.packaging.k8s_keda import StreamOptions
from modelport.packaging.k8s_options import DEFAULT_IMAGE, ServingOptions
from modelport.packaging.k8s_yaml import dump_all, write_manifests
from modelport.packaging.render import referenced_secrets, render

__all__ = ["render_manifests"]


def render_manifests(
    ref: str = typer.Argument(..., help="Model to serve: fraud@production follows the alias."),
    out: str = typer.Option(
        "-", "--out", "-o", help="Folder for the manifests ('-' prints them all to stdout)."
    ),
    name: str = typer.Option("", "--name", help="Object name [default: modelport-MODEL]."),
    namespace: str = typer.Option(None, "--namespace", "-n", help="Kubernetes namespace."),
    image: str = typer.Option(DEFAULT_IMAGE, "--image", help="Image modelport build made."),
    model_in_image: bool = typer.Option(
        False, "--model-in-image",
        help="The image carries the model (built without --no-model): no registry Secret.",
    ),
    replicas: int = typer.Option(3, "--replicas", help="Pods (and the HPA's minimum)."),
    max_replicas: int = typer.Option(10, "--max-replicas", help="The HPA's maximum."),
    workers: int = typer.Option(2, "--workers", help="serve --workers in each pod."),
    port: int = typer.Option(8080, "--port", help="REST port."),
    grpc_port: int = typer.Option(8081, "--grpc-port", help="gRPC port."),
    drain_timeout: int = typer.Option(
        30, "--drain-timeout", help="Seconds in-flight requests get on SIGTERM."
    ),
    cpu: str = typer.Option("500m", "--cpu", help="CPU request per pod."),
    cpu_limit: str = typer.Option("2", "--cpu-limit", help="CPU limit per pod."),
    memory: str = typer.Option("512Mi", "--memory", help="Memory request per pod."),
    memory_limit: str = typer.Option("2Gi", "--memory-limit", help="Memory limit per pod."),
    target_cpu: int = typer.Option(70, "--target-cpu", help="HPA CPU utilisation target, %."),
    target_rps: int = typer.Option(
        100, "--target-rps", help="HPA requests-per-second target per pod."
    ),
    registry_secret: str = typer.Option(
        "modelport-registry", "--registry-secret",
        help="Secret whose database-url key is the registry URL.",
    ),
    artifact_root: str = typer.Option(
        None, "--artifact-root", help="Artifact store URL the pods read, e.g. s3://models/mp."
    ),
    auth_secret: str = typer.Option(
        "modelport-auth", "--auth-secret",
        help="Secret with optional jwt-secret and log-hash-salt keys; '' for none.",
    ),
    metrics_secret: str = typer.Option(
        "modelport-metrics", "--metrics-secret",
        help="Secret whose api-key key is a viewer key for scraping /metrics; '' for none.",
    ),
    stream_source: str = typer.Option(
        None, "--stream-source",
        help="Also render a KEDA-scaled stream scorer reading this URL (with ?group=).",
    ),
    stream_sink: str = typer.Option(None, "--stream-sink", help="Where the scorer writes."),
) -> None:
    """Write Kubernetes manifests (Deployment, Service, HPA, PDB, NetworkPolicy, ConfigMap,
    ServiceMonitor, KServe, Knative, KEDA) serving one model."""
    opts = ServingOptions(
        model=ref, name=name, namespace=namespace, image=image, model_in_image=model_in_image,
        replicas=replicas, max_replicas=max_replicas, workers=workers, http_port=port,
        grpc_port=grpc_port, drain_timeout_s=drain_timeout, cpu_request=cpu,
        cpu_limit=cpu_limit, memory_request=memory, memory_limit=memory_limit,
        target_cpu_percent=target_cpu, target_rps_per_pod=target_rps,
        registry_secret=registry_secret, artifact_root=artifact_root,
        auth_secret=auth_secret or None, metrics_secret=metrics_secret or None,
    )
    stream = None
    if stream_source or stream_sink:
        if not (stream_source and stream_sink):
            raise typer.BadParameter("--stream-source and --stream-sink go together")
        stream = StreamOptions(source=stream_source, sink=stream_sink)
    files = render(opts, stream)
    if out == "-":
        sys.stdout.write(dump_all(m for manifests in files.values() for m in manifests))
        return
    write_manifests(files, Path(out))
    print_table(
        ["file", "objects"],
        [(name, ", ".join(f"{m['kind']}/{m['metadata']['name']}" for m in manifests))
         for name, manifests in files.items()],
        title=f"manifests for {ref} in {out}",
    )
    secrets = referenced_secrets(files)
    if secrets:
        print_table(
            ["Secret", "key", "needed"],
            [(s.name, s.key, "optional" if s.optional else "yes") for s in secrets],
            title="Secrets the manifests read (create them; values are never written here)",
        )
    console.print(f"apply the core with: kubectl apply -f {out}")
