"""``modelport deploy``: apply, status, list, promote, pause, resume, rollback, ab-report and
the controller, in-process, each with --json; bad files fail with the line and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.config import RegistrySettings
from modelport.registry import Registry
from tests.cli.conftest import Run, run_json
from tests.routing.models import deploy_yaml, register_python


@pytest.fixture
def fraud(home: Path, tmp_path: Path) -> Path:
    with Registry.open(RegistrySettings(home=home)) as registry:
        for kind in ("good", "good", "error"):
            register_python(registry, tmp_path, "fraud", kind)
    path = tmp_path / "fraud.deploy.yaml"
    path.write_text(deploy_yaml())
    return path


def test_apply_status_and_list(run: Run, fraud: Path) -> None:
    code, out, err = run("deploy", "apply", "-f", str(fraud))
    assert code == 0, err
    assert "applied: deployment 1 of fraud" in out and "fraud:1 80%, fraud:2 20%" in out
    status = run_json(run, "deploy", "status", "fraud")
    assert isinstance(status, dict)
    assert status["deployment"]["status"] == "running"
    assert [(e["actor"], e["action"]) for e in status["history"]] == [("alice", "apply")]
    code, out, _ = run("deploy", "status", "fraud")
    assert code == 0 and "step 1 of 3 (20%)" in out and "History" in out
    listed = run_json(run, "deploy", "list")
    assert isinstance(listed, list) and [d["endpoint"] for d in listed] == ["fraud"]


def test_steering_a_rollout(run: Run, fraud: Path) -> None:
    run("deploy", "apply", "-f", str(fraud))
    paused = run_json(run, "deploy", "pause", "fraud")
    assert isinstance(paused, dict) and paused["status"] == "paused"
    assert run_json(run, "deploy", "resume", "fraud")["status"] == "running"  # type: ignore[index]
    promoted = run_json(run, "deploy", "promote", "fraud")
    assert promoted["weights"] == [  # type: ignore[index]
        {"model": "fraud", "version": 2, "weight": 100.0, "role": "candidate"}]
    code, out, _ = run("deploy", "rollback", "fraud", "--reason", "latency alarms")
    assert code == 0 and "rolled back to fraud:1" in out
    history = run_json(run, "deploy", "status", "fraud")["history"]  # type: ignore[index]
    assert [h["action"] for h in history] == ["apply", "pause", "resume", "promote", "rollback"]
    assert "latency alarms" in history[-1]["detail"]


def test_bad_file_fails_with_line_and_reason(run: Run, fraud: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(deploy_yaml(candidate="fraud:9"))
    code, _, err = run("deploy", "apply", "-f", str(bad))
    assert code == 1
    assert "bad.yaml line 4, candidate: unknown model or version 'fraud:9'" in err
    code, _, err = run("deploy", "status", "fraud")
    assert code == 1 and "has no deployment" in err  # nothing was applied
    code, _, err = run("deploy", "apply", "-f", str(tmp_path / "missing.yaml"))
    assert code == 1 and "cannot read deployment file" in err


def test_dry_run_changes_nothing(run: Run, fraud: Path) -> None:
    checked = run_json(run, "deploy", "apply", "-f", str(fraud), "--dry-run")
    assert checked == {"endpoint": "fraud", "strategy": "canary", "stable": "fraud:1",
                       "candidate": "fraud:2", "shadows": [], "valid": True}
    assert run_json(run, "deploy", "list") == []


def test_second_rollout_is_refused(run: Run, fraud: Path, tmp_path: Path) -> None:
    run("deploy", "apply", "-f", str(fraud))
    other = tmp_path / "other.yaml"
    other.write_text(deploy_yaml(candidate="fraud:3"))
    code, _, err = run("deploy", "apply", "-f", str(other))
    assert code == 1 and "already has a rollout in progress" in err


def test_ab_report_and_controller_once(run: Run, fraud: Path, tmp_path: Path) -> None:
    ab = tmp_path / "ab.yaml"
    ab.write_text(deploy_yaml(strategy="ab", section=None))
    run("deploy", "apply", "-f", str(ab))
    report = run_json(run, "deploy", "ab-report", "fraud")
    assert isinstance(report, dict)
    assert [a["arm"] for a in report["arms"]] == ["stable", "candidate"]
    assert report["tests"][0]["test"] == "two-proportion z-test"
    code, out, _ = run("deploy", "ab-report", "fraud")
    assert code == 0 and "A/B test of fraud" in out
    assert run_json(run, "deploy", "controller", "--once") == []  # nothing to move for A/B


def test_status_shows_every_gate_and_what_a_step_waits_on(run: Run, fraud: Path) -> None:
    import time

    run("deploy", "apply", "-f", str(fraud))
    code, out, _ = run("deploy", "status", "fraud")
    assert code == 0
    assert ("min_requests 10, max_error_rate 0.05, max_p99_latency_ms 400, "
            "max_prediction_psi 0.5") in out
    time.sleep(1.2)  # the 1 s interval passes with no traffic: the step waits
    run("deploy", "controller", "--once")
    code, out, _ = run("deploy", "status", "fraud")
    assert "min_requests: 0 of 10 candidate requests in the last interval (1s)" in out
    run("deploy", "promote", "fraud")
    code, out, _ = run("deploy", "status", "fraud")
    assert "finished: promoted, fraud:2 takes all traffic" in out and "step 1 of 3" not in out
    assert "waiting on" not in out


def test_unknown_fields_list_every_field_with_its_default(run: Run, fraud: Path,
                                                         tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(deploy_yaml().replace("min_requests", "min_request"))
    code, _, err = run("deploy", "apply", "-f", str(bad))
    assert code == 1 and "unknown field 'min_request'" in err
    assert "min_requests (default 20 candidate requests per interval" in err


def test_moving_an_alias_of_a_routed_endpoint_says_the_deployment_decides(
        run: Run, fraud: Path) -> None:
    run("deploy", "apply", "-f", str(fraud))
    run("deploy", "promote", "fraud")  # fraud:2 takes all traffic; production moved to 2
    code, out, _ = run("models", "alias", "fraud", "production", "2")
    assert code == 0 and "note:" not in out  # the alias agrees with the routes
    code, out, _ = run("models", "alias", "fraud", "production", "3")
    assert code == 0 and "fraud@production: 2 → 3" in out
    assert "deployment 1 of endpoint 'fraud' ended promoted and still routes" in out
    assert "apply a new deployment" in out
