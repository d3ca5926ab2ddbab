"""Privacy against a real server writing an encrypted inference log: subject ids in the log,
erasure from disk (log files and feedback), encryption at rest, retention by partition date."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from modelport.config import RegistrySettings
from modelport.errors import InvalidInput
from modelport.monitoring.config import LogConfig, MonitoringConfig
from modelport.monitoring.inference_log import ParquetSink
from modelport.monitoring.log_crypto import log_keys
from modelport.monitoring.log_reader import read_log
from modelport.monitoring.metrics import Metrics
from modelport.monitoring.scheduler import Scheduler
from modelport.registry import Registry
from modelport.registry import tables_monitoring as tm
from modelport.security.audit import list_audit

from ..serving.server_process import ServerProcess
from .models import FEATURES, register_fraud

KEY1 = "k1=" + base64.b64encode(b"1" * 32).decode()
KEY2 = "k2=" + (b"2" * 32).hex()
CLI = [sys.executable, "-m", "modelport.cli.main"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home: Path = tmp_path_factory.mktemp("privacy")
    with Registry.open(RegistrySettings(home=home)) as registry:
        register_fraud(registry, home / "model")
    (home / "log.keys").write_text(f"# inference log master keys\n{KEY1}\n")
    return home


@pytest.fixture(scope="module")
def env(home: Path) -> dict[str, str]:
    return {**os.environ, "MODELPORT_HOME": str(home),
            "MODELPORT_LOG_KEY_FILE": str(home / "log.keys")}


@pytest.fixture(scope="module")
def server(home: Path, env: dict[str, str], monkeypatch_module: Any) -> Iterator[ServerProcess]:
    monkeypatch_module.setenv("MODELPORT_LOG_KEY_FILE", str(home / "log.keys"))
    proc = ServerProcess(home, ["fraud@production", "--preload", "--cache-size", "100"],
                         workers=1)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def infer(url: str, amount: float, *, subject: str | None = None,
          header: str | None = None) -> str:
    body: dict[str, Any] = {"inputs": [
        {"name": f, "datatype": "FP32", "shape": [1], "data": [v]}
        for f, v in zip(FEATURES, [amount, 3.0, 0.5], strict=True)]}
    if subject is not None:
        body["parameters"] = {"subject_id": subject}
    headers = {"x-subject-id": header} if header else {}
    resp = httpx.post(f"{url}/v2/models/fraud/infer", json=body, headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["id"])


def files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def wait_logged(root: Path, ids: set[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = set(read_log(str(root), "fraud", request_ids=ids)["request_id"])
        if found >= ids:
            return
        time.sleep(0.3)
    raise AssertionError(f"requests {ids} never reached the log")


def test_subjects_are_logged_encrypted_and_erased_from_disk(
    server: ServerProcess, home: Path, env: dict[str, str],
) -> None:
    root = home / "inference-log"
    mine = [infer(server.url, 1.5, subject="cust-8812"),
            infer(server.url, 1.5, header="cust-8812"),
            infer(server.url, 1.5, subject="cust-8812")]  # the same input: never from cache
    theirs = [infer(server.url, 1.5, subject="cust-1"), infer(server.url, -2.0)]
    wait_logged(root, {*mine, *theirs})
    logged = read_log(str(root), "fraud")
    assert set(logged.loc[logged["request_id"].isin(mine), "subject_id"]) == {"cust-8812"}

    # encryption at rest: pyarrow cannot open a log file without the key, and can with it
    path = files(root)[0]
    with pytest.raises(OSError, match="encrypted"):
        pq.read_table(path)
    keys = log_keys({"MODELPORT_LOG_KEY": KEY1})
    assert keys is not None
    assert pq.read_table(path, decryption_properties=keys.decryption()).num_rows >= 1

    feedback = [{"request_id": rid, "label": 1} for rid in [*mine, *theirs]]
    resp = httpx.post(f"{server.url}/v2/models/fraud/feedback", json=feedback, timeout=30)
    assert resp.status_code == 200, resp.text

    run = subprocess.run([*CLI, "privacy", "erase", "--subject", "cust-8812", "--json"],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["log_rows"] == 3 and report["requests"] == 3 and report["feedback_rows"] == 3

    # gone from disk: every file, read raw with the key (temporary files included)
    rows = pa.concat_tables([pq.read_table(p, decryption_properties=keys.decryption())
                             for p in files(root)], promote_options="permissive")
    ids = set(rows["request_id"].to_pylist())
    assert not ids & set(mine) and set(theirs) <= ids
    assert "cust-8812" not in set(rows["subject_id"].to_pylist())
    with Registry.open(RegistrySettings(home=home)) as registry:
        with registry.engine.connect() as conn:
            left = {r.request_id for r in conn.execute(sa.select(tm.feedback.c.request_id))}
        audit = [e for e in list_audit(registry.engine) if e.action == "privacy.erase"]
    assert left == set(theirs)
    assert len(audit) == 1 and "cust-8812" not in json.dumps(audit[0].to_dict())

    # an input column selector, and a selector that matches nothing
    run = subprocess.run([*CLI, "privacy", "erase", "--subject", "amount=-2.0", "--json"],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0 and json.loads(run.stdout)["log_rows"] == 1, run.stderr
    run = subprocess.run([*CLI, "privacy", "erase", "--subject", "cust-8812"],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 1 and "nothing was erased" in run.stderr
    run = subprocess.run([*CLI, "privacy", "erase", "--subject", "=x"],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 1 and "COLUMN=VALUE" in run.stderr


def test_reading_an_encrypted_log_without_keys_is_a_clear_error(
    server: ServerProcess, home: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    infer(server.url, 0.1)
    time.sleep(1.5)
    monkeypatch.delenv("MODELPORT_LOG_KEY_FILE", raising=False)
    monkeypatch.delenv("MODELPORT_LOG_KEY", raising=False)
    with pytest.raises(InvalidInput, match="is encrypted; set MODELPORT_LOG_KEY_FILE"):
        read_log(str(home / "inference-log"), "fraud")


def test_key_rotation_re_encrypts_old_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    root = tmp_path / "log"
    monkeypatch.delenv("MODELPORT_LOG_KEY_FILE", raising=False)
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MODELPORT_LOG_KEY", KEY1)
    ParquetSink(str(root)).write("m", "1", "2026-12-01", _rows(["a", "b"]))
    monkeypatch.setenv("MODELPORT_LOG_KEY", f"{KEY1},{KEY2}")  # k2 is now current
    from modelport.cli.main import main

    assert main(["privacy", "rotate-key", "--log", str(root)]) == 0
    monkeypatch.setenv("MODELPORT_LOG_KEY", KEY2)  # k1 retired: the files still read
    assert list(read_log(str(root), "m")["request_id"]) == ["a", "b"]
    monkeypatch.setenv("MODELPORT_LOG_KEY", KEY1)
    with pytest.raises(InvalidInput, match="master key 'k2'"):
        read_log(str(root), "m")
    monkeypatch.setenv("MODELPORT_LOG_KEY", "k1=tooshort")
    with pytest.raises(InvalidInput, match="32 bytes"):
        log_keys()


def _rows(ids: list[str]) -> pa.Table:
    now = datetime.now(UTC)
    return pa.table({"request_id": ids, "row": [0] * len(ids),
                     "timestamp": pa.array([now] * len(ids), pa.timestamp("us", tz="UTC"))})


async def test_retention_deletes_old_partitions_from_the_scheduler(tmp_path: Path) -> None:
    root = tmp_path / "log"
    sink = ParquetSink(str(root))
    today = datetime.now(UTC)
    for age in (0, 5, 40, 400):
        day = (today - timedelta(days=age)).strftime("%Y-%m-%d")
        sink.write("fraud", "1", day, _rows([f"r{age}"]))
    config = MonitoringConfig(log=LogConfig(root=str(root), retention_s=30 * 86400))

    async def served() -> list[tuple[str, str]]:
        return []

    with Registry.open(RegistrySettings(home=tmp_path / "home")) as registry:
        await Scheduler(registry, config, served, metrics=Metrics()).tick()
    assert sorted(read_log(str(root), "fraud")["request_id"]) == ["r0", "r5"]
    assert len(files(root)) == 2
