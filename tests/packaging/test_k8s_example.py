"""deploy/k8s/ is exactly what the README's commands render today, and it validates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelport.batch import BatchJob, run_arguments
from modelport.packaging.k8s_cronjob import CronJobSpec, cronjob_manifest
from modelport.packaging.k8s_keda import StreamOptions
from modelport.packaging.k8s_options import ServingOptions
from modelport.packaging.render import render

from .k8s_helpers import CORE_KINDS, VERSIONS, validate_core

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
IMAGE = "registry.example.com/modelport:0.1.0"


def _expected() -> dict[str, list[dict[str, object]]]:
    files = render(
        ServingOptions(model="fraud@production", image=IMAGE, artifact_root="s3://models/modelport"),
        StreamOptions(source="redis://redis:6379/0?stream=transactions&group=scorer",
                      sink="redis://redis:6379/0?stream=scores"),
    )
    job = BatchJob(model="fraud@production", input="s3://transactions/{date}/",
                   output="s3://scores/{date}/", id_column="transaction_id")
    spec = CronJobSpec(cron="0 2 * * *", name="modelport-batch-fraud", image=IMAGE,
                       artifact_root="s3://models/modelport")
    files["batch/cronjob.yaml"] = [cronjob_manifest(spec, run_arguments(job),
                                                    schedule="0 2 * * *")]
    return files  # type: ignore[return-value]


def test_the_example_is_what_render_makes_today() -> None:
    expected = _expected()
    on_disk = sorted(str(p.relative_to(EXAMPLE)) for p in EXAMPLE.rglob("*.yaml"))
    assert on_disk == sorted(expected), "regenerate deploy/k8s with the commands in its README"
    for name, manifests in expected.items():
        text = (EXAMPLE / name).read_text()
        assert list(yaml.safe_load_all(text)) == manifests, name
        assert "&id" not in text


@pytest.mark.parametrize("version", VERSIONS)
def test_every_core_file_of_the_example_validates(version: str) -> None:
    checked = 0
    for path in EXAMPLE.rglob("*.yaml"):
        for manifest in yaml.safe_load_all(path.read_text()):
            if manifest["kind"] in CORE_KINDS and "knative" not in manifest["apiVersion"]:
                validate_core(manifest, version)
                checked += 1
    assert checked == 8  # 6 core objects, the stream Deployment, the CronJob
