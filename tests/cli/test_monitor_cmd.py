"""``modelport monitor``: drift (exit 0 or 3, table, JSON, HTML), performance, contracts
(show, --set, export/import, --edit) and events, on a registry built in the test."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelport.cli.monitor_cmd import DRIFTED, app
from modelport.config import RegistrySettings
from modelport.errors import InvalidInput, NotFound
from modelport.monitoring.events import record_event
from modelport.monitoring.feedback import FeedbackItem, FeedbackStore
from modelport.registry import Registry
from tests.monitoring.models import register_fraud
from tests.monitoring.test_drift_check import log_traffic

runner = CliRunner()


@pytest.fixture
def world(home: Path, tmp_path: Path) -> Path:
    """fraud v1 (alias production, accuracy 0.99 registered) with an inference log of
    drifted traffic in MODELPORT_HOME/inference-log; returns the log folder."""
    log = home / "inference-log"
    with Registry.open(RegistrySettings(home=home)) as registry:
        info = register_fraud(registry, tmp_path / "m", metrics={"accuracy": 0.99})
        log_traffic(registry, info, log, shift=1.5, rows=200, at=datetime.now(UTC))
    return log


def invoke(*args: str) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, list(args))
    error = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, error


def test_drift_prints_a_table_and_exits_3(world: Path, tmp_path: Path) -> None:
    report = tmp_path / "drift.html"
    code, out, error = invoke("drift", "fraud@production", "--since", "1h", "--html",
                              str(report))
    assert error is None and code == DRIFTED
    assert "amount" in out and "DRIFT" in out and "ks" in out
    assert "HTML report:" in out and report.read_text().count("<svg") >= 3
    code, out, _ = invoke("drift", "fraud:1", "--json", "--no-predictions")
    doc = json.loads(out)
    assert code == DRIFTED and doc["drifted"] and "amount" in doc["drifted_features"]
    assert {f["feature"] for f in doc["features"]} == {"amount", "hour", "velocity"}


def test_drift_exits_0_on_an_empty_window(world: Path) -> None:
    code, out, error = invoke("drift", "fraud", "--since", "1s", "--log", str(world))
    assert error is None and code == 0
    assert "no logged traffic" in out and "no drift" in out


def test_drift_bad_input_is_a_clear_error(world: Path) -> None:
    assert isinstance(invoke("drift", "fraud", "--since", "soon")[2], InvalidInput)
    assert isinstance(invoke("drift", "nosuch")[2], NotFound)


def test_performance_from_feedback(world: Path, home: Path) -> None:
    with Registry.open(RegistrySettings(home=home)) as registry:
        FeedbackStore(registry.engine, str(world)).submit(
            "fraud", [FeedbackItem(f"r{i}", i % 2) for i in range(40)])
    code, out, _ = invoke("performance", "fraud@production")
    assert code == DRIFTED and "DEGRADED" in out and "accuracy" in out
    code, out, _ = invoke("performance", "fraud@production", "--json")
    (only,) = json.loads(out)
    assert only["degraded"] == ["accuracy"] and only["baseline"] == {"accuracy": 0.99}
    assert only["labels"] == 40 and only["metrics"]["accuracy"] < 0.9
    code, out, _ = invoke("performance", "fraud", "--json", "--min-labels", "100")
    assert code == 0 and json.loads(out)[0]["verdict"] == "not enough feedback"


def test_performance_without_feedback_says_where_to_send_it(world: Path) -> None:
    code, out, _ = invoke("performance", "fraud")
    assert code == 0 and "POST /v2/models/fraud/feedback" in out


def test_contract_show_set_export_import(world: Path, tmp_path: Path) -> None:
    code, out, error = invoke("contract", "fraud")
    assert error is None and code == 0 and "amount" in out and "numeric" in out
    code, out, _ = invoke("contract", "fraud", "--set", "amount.max=5000", "--set",
                          "policy=reject", "--json")
    doc = json.loads(out)
    assert doc["fields"]["amount"]["max"] == 5000 and doc["policy"] == "reject"
    exported = tmp_path / "contract.yaml"
    invoke("contract", "fraud", "--export", str(exported))
    text = exported.read_text().replace("max: 5000.0", "max: 7000.0")
    exported.write_text(text)
    code, out, _ = invoke("contract", "fraud", "--import", str(exported), "--json")
    assert json.loads(out)["fields"]["amount"]["max"] == 7000.0
    code, out, _ = invoke("contract", "fraud", "--derive", "--json")
    assert json.loads(out)["fields"]["amount"]["max"] < 100  # back to the reference's range
    exported.write_text(text.replace("model: fraud", "model: other"))
    assert isinstance(invoke("contract", "fraud", "--import", str(exported))[2], InvalidInput)
    assert isinstance(invoke("contract", "fraud", "--set", "amount.max")[2], InvalidInput)
    assert isinstance(invoke("contract", "fraud", "--import", "/no/file.yaml")[2], NotFound)


def test_contract_edit_uses_the_editor(world: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/nullable: false/nullable: true/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EDITOR", str(editor))
    code, out, error = invoke("contract", "fraud", "--edit", "--json")
    assert error is None and code == 0, error
    assert all(f["nullable"] for f in json.loads(out)["fields"].values())
    assert os.environ["EDITOR"] == str(editor)


def test_events_newest_first(world: Path, home: Path) -> None:
    with Registry.open(RegistrySettings(home=home)) as registry:
        now = datetime.now(UTC)
        record_event(registry.engine, model="fraud", version="1", kind="drift",
                     summary="fraud:1 drifted in amount", at=now - timedelta(hours=1))
        record_event(registry.engine, model="fraud", version="1", kind="retrain",
                     summary="retraining requested", at=now)
    code, out, _ = invoke("events", "fraud", "--json")
    assert code == 0 and [e["kind"] for e in json.loads(out)] == ["retrain", "drift"]
    code, out, _ = invoke("events", "--kind", "drift")
    assert "fraud:1 drifted in amount" in out and "retraining" not in out
