"""``modelport deploy render`` through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelport.cli.main import main


def test_render_writes_every_manifest_into_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "k8s"
    assert main(["deploy", "render", "fraud@production", "--replicas", "4", "--out", str(out),
                 "--image", "reg.example.com/fraud:1.0", "--stream-source",
                 "kafka://broker:9092/tx?group=scorer", "--stream-sink",
                 "kafka://broker:9092/scores"]) == 0
    printed = capsys.readouterr().out
    assert "modelport-registry" in printed and "database-url" in printed
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.yaml"))
    assert files == ["configmap.yaml", "deployment.yaml", "hpa.yaml", "keda/stream.yaml",
                     "knative/service.yaml", "kserve/inferenceservice.yaml",
                     "networkpolicy.yaml", "pdb.yaml", "prometheus/servicemonitor.yaml",
                     "service.yaml"]
    for path in out.rglob("*.yaml"):
        text = path.read_text()
        assert "&id" not in text and "*id" not in text  # plain YAML: no anchors or aliases
    deployment = yaml.safe_load((out / "deployment.yaml").read_text())
    assert deployment["spec"]["replicas"] == 4
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "reg.example.com/fraud:1.0")


def test_render_prints_all_documents_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "render", "fraud"]) == 0
    kinds = [d["kind"] for d in yaml.safe_load_all(capsys.readouterr().out)]
    assert kinds == ["ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler",
                     "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "ServingRuntime",
                     "InferenceService", "Service"]


@pytest.mark.parametrize(("args", "message"), [
    (["--replicas", "0"], "--replicas must be at least 1, got 0"),
    (["--cpu", "lots"], "--cpu 'lots' is not a Kubernetes quantity"),
    (["--stream-source", "redis://r:6379/0?stream=s&group=g"], "go together"),
])
def test_bad_options_get_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "render", "fraud", *args]) in (1, 2)
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(("command", "option"), [(["deploy", "render"], "--stream-source"),
                                                 (["build"], "--no-model")])
def test_help(command: list[str], option: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"Usage: modelport {' '.join(command)}" in out and option in out
