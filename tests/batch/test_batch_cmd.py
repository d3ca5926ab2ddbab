"""``modelport batch run`` and ``modelport batch schedule``, through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from modelport.cli.main import main
from modelport.config import RegistrySettings
from modelport.registry import VersionInfo

from .helpers import make_transactions, mount_batch, write_parquet


@pytest.fixture
def cli(
    batch_settings: RegistrySettings, fraud: VersionInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI with `batch` mounted, pointed at the test registry holding the fraud model."""
    mount_batch()
    monkeypatch.setenv("MODELPORT_HOME", str(batch_settings.home))
    monkeypatch.setenv("MODELPORT_DATABASE_URL", str(batch_settings.database_url))
    monkeypatch.setenv("MODELPORT_ARTIFACT_ROOT", str(batch_settings.artifact_root))
    monkeypatch.delenv("MODELPORT_DASK_SCHEDULER", raising=False)


def _source(tmp_path: Path) -> Path:
    return write_parquet(make_transactions(40), tmp_path / "tx.parquet", row_group_size=20)


@pytest.mark.parametrize("command", [[], ["run"], ["schedule"]])
def test_every_command_has_help(
    cli: None, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["batch", *command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: modelport batch" in out
    if command:
        assert "--input" in out and "--output" in out


def test_run_prints_a_json_result_and_writes_the_output(
    cli: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scores"
    code = main([
        "batch", "run", "fraud@production", "--input", str(_source(tmp_path)),
        "--output", str(out), "--id-column", "transaction_id", "--keep", "amount,hour",
        "--keep", "day_of_week", "--processes", "1", "--batch-size", "16", "--json",
    ])  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["model"], result["rows_read"], result["parts"]) == ("fraud:1", 40, 4)
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["keep"] == ["amount", "hour", "day_of_week"]
    assert manifest["rows"]["written"] == 40


def test_run_prints_a_summary_table(
    cli: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([
        "batch", "run", "fraud", "-i", str(_source(tmp_path)), "-o", str(tmp_path / "o"),
        "-p", "1",
    ])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "batch run finished" in out
    assert "rows rejected" in out and "model loads" in out


def test_bad_options_and_inputs_exit_with_one_clear_line(
    cli: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = str(_source(tmp_path))
    base = ["batch", "run", "fraud", "--input", source, "--output", str(tmp_path / "o")]
    assert main([*base, "--engine", "dask"]) == 1
    assert "--engine dask needs --scheduler" in capsys.readouterr().err
    assert main([*base, "--scheduler", "tcp://x:8786"]) == 1
    assert "--scheduler is for --engine dask" in capsys.readouterr().err
    assert main([*base, "--engine", "dask", "--scheduler", "tcp://x:1", "-p", "2"]) == 1
    assert "--processes is for the local engine" in capsys.readouterr().err
    make_transactions(5).drop(columns=["amount"]).to_csv(tmp_path / "bad.csv", index=False)
    bad = ["batch", "run", "fraud", "-i", str(tmp_path / "bad.csv"), "-o", str(tmp_path / "b")]
    assert main(bad) == 1
    err = capsys.readouterr().err
    assert "does not fit model fraud:1" in err and "Traceback" not in err
    assert main([*base, "--engine", "spark"]) != 0
    assert "'spark' is not one of 'local', 'dask'" in capsys.readouterr().err


def test_schedule_writes_a_cronjob_and_prints_the_crontab_line(
    cli: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "batch", "schedule", "fraud@production", "--input", "s3://tx/{date}/",
        "--output", "s3://scores/{date}/", "--id-column", "transaction_id",
        "--image", "registry.example.com/modelport:0.1.0", "--secret", "cloud-env",
        "--cron", "0 2 * * *",
    ]  # fmt: skip
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "&id" not in captured.out and "*id" not in captured.out  # plain YAML, no anchors
    manifest = yaml.safe_load(captured.out)
    assert manifest["kind"] == "CronJob" and manifest["spec"]["schedule"] == "0 2 * * *"
    assert manifest["metadata"]["name"] == "modelport-batch-fraud"
    container = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/modelport:0.1.0"
    assert container["command"] == ["modelport"]
    assert container["args"] == [
        "batch", "run", "fraud@production", "--input", "s3://tx/{date}/",
        "--output", "s3://scores/{date}/", "--id-column", "transaction_id",
    ]  # fmt: skip
    env = {e["name"]: e for e in container["env"]}
    assert env["MODELPORT_DATABASE_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": "modelport-registry", "key": "database-url"}
    }
    assert container["envFrom"] == [{"secretRef": {"name": "cloud-env"}}]
    # the crontab line spells the registry out: cron starts elsewhere with an empty environment
    assert "0 2 * * * MODELPORT_HOME=/" in captured.err
    assert "MODELPORT_DATABASE_URL=" in captured.err
    assert " batch run fraud@production --input" in captured.err

    target = tmp_path / "cronjob.yaml"
    assert main([*args, "--manifest", str(target), "--name", "nightly-fraud"]) == 0
    assert yaml.safe_load(target.read_text())["metadata"]["name"] == "nightly-fraud"
    assert "batch run fraud@production" in capsys.readouterr().out

    # a scheduled Dask run may take its scheduler from MODELPORT_DASK_SCHEDULER in the pod
    assert main([*args, "--engine", "dask"]) == 0
    assert "--engine dask" in capsys.readouterr().err

    assert main(args[:-2]) == 2  # no --cron
    capsys.readouterr()
    assert main([*args[:-2], "--cron", "every night"]) == 1
    assert "invalid cron schedule 'every night'" in capsys.readouterr().err


def test_schedule_makes_local_paths_absolute_and_says_the_pod_must_mount_them(
    cli: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["batch", "schedule", "fraud", "--input", "in/{date}.parquet", "--output", "out",
            "--image", "mp:1", "--cron", "@daily"]  # fmt: skip
    assert main(args) == 0
    captured = capsys.readouterr()
    container = yaml.safe_load(captured.out)["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"][0]  # fmt: skip
    assert container["args"][3:7] == [
        "--input", f"{tmp_path}/in/{{date}}.parquet", "--output", f"{tmp_path}/out"
    ]
    assert f"must mount {tmp_path}/in/{{date}}.parquet, {tmp_path}/out" in captured.err
    assert f"--input '{tmp_path}/in/{{date}}.parquet'" in captured.err  # the crontab line too
