"""Evaluation gate, promotion policy and approvals, through the CLI and a real server."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from modelport.config import RegistrySettings
from modelport.governance.criteria import check_criteria, parse_criterion
from modelport.registry import Registry
from modelport.security.audit import list_audit, verify_audit
from modelport.security.keys import KeyStore

from ..serving.server_process import ServerProcess
from .conftest import FEATURES, Run


def _holdout(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(300, 3)).astype(np.float32), columns=FEATURES)
    frame["label"] = (frame["amount"] + 0.5 * frame["velocity"] > 0).astype(int)
    frame["region"] = np.where(frame["hour"] > 0, "north", "south")
    path = tmp_path / "holdout.parquet"
    frame.to_parquet(path, index=False)
    return path


def _weak_model(tmp_path: Path) -> Path:
    """A model that learnt from the wrong feature: AUC near 0.5."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(400, 3)).astype(np.float32), columns=FEATURES)
    label = (frame["hour"] > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "nthread": 1},
                        xgb.DMatrix(frame, label=label, feature_names=FEATURES), 4)
    path = tmp_path / "weak.json"
    booster.save_model(path)
    return path


def test_criteria_parse_and_compare() -> None:
    assert parse_criterion("auc >= production - 0.005").margin == -0.005
    with pytest.raises(Exception, match="METRIC OP VALUE"):
        parse_criterion("auc is great")
    results = check_criteria(
        ["auc >= 0.9", "auc >= production - 0.01", "p99_ms <= 15", "recall > 0.5"],
        {"auc": 0.95, "p99_ms": 20.0}, lambda alias: {"auc": 0.955})
    assert [r.passed for r in results] == [True, True, False, False]
    assert "has no metric 'recall'" in results[3].reason


def test_protected_alias_needs_a_passing_evaluation(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster], tmp_path: Path, home: Path,
) -> None:
    model, _, _ = tiny_xgb
    holdout = _holdout(tmp_path)
    assert run("models", "register", str(model), "--name", "fraud",
               "--alias", "production")[0] == 0
    assert run("models", "register", str(_weak_model(tmp_path)), "--name", "fraud")[0] == 0
    assert run("models", "register", str(model), "--name", "fraud")[0] == 0
    # no policy yet: aliases move freely (what existing users and the quickstart do)
    assert run("models", "alias", "fraud", "staging", "2")[0] == 0
    code, _, err = run("policy", "set", "fraud", "--criterion", "auc >= 0.9",
                       "--criterion", "auc >= production - 0.01", "--criterion", "p99_ms <= 500")
    assert code == 0, err
    code, _, err = run("models", "alias", "fraud", "production", "3")
    assert code == 1 and "fraud@production is protected" in err and "modelport evaluate" in err
    code, _, err = run("models", "register", str(model), "--name", "fraud",
                       "--alias", "production")
    assert code == 1 and "register without --alias" in err

    code, out, err = run("evaluate", "fraud:2", "--data", str(holdout), "--label", "label",
                         "--against", "fraud@production", "--json")
    assert code == 3, err  # the weak model fails its criteria
    doc = json.loads(out)
    assert doc["passed"] is False and doc["metrics"]["auc"] < 0.8
    assert {c["criterion"] for c in doc["criteria"] if not c["passed"]} == {
        "auc >= 0.9", "auc >= production - 0.01"}
    code, _, err = run("models", "alias", "fraud", "production", "2")
    assert code == 1 and "failed auc >= 0.9" in err

    code, out, err = run("evaluate", "fraud:3", "--data", str(holdout), "--label", "label",
                         "--against", "fraud@production", "--slice", "region", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["passed"] is True and doc["metrics"]["auc"] > 0.9
    assert set(doc["slices"]["region"]) == {"north", "south"}
    assert doc["comparison"]["auc"]["delta"] == pytest.approx(0.0, abs=1e-9)
    assert doc["data"]["rows"] == 300 and len(doc["data"]["sha256"]) == 64
    assert len(doc["calibration"]) >= 2 and "ece" in doc["metrics"]
    code, out, _ = run("evaluate", "fraud:3", "--data", str(holdout), "--label", "label")
    assert code == 0 and "acceptance criteria" in out and "auc" in out
    assert run("models", "alias", "fraud", "production", "3")[0] == 0

    code, out, _ = run("models", "show", "fraud:3")
    assert code == 0 and "evaluations" in out and "yes" in out
    with Registry.open(RegistrySettings(home=home)) as registry:
        actions = [e.action for e in list_audit(registry.engine)]
        assert verify_audit(registry.engine).ok
    assert actions.count("model.evaluate") == 3
    assert "promotion.refused" in actions and "promotion.allowed" in actions
    assert "policy.set" in actions


def test_evaluate_bad_input_is_a_clear_error(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster], tmp_path: Path,
) -> None:
    model, _, _ = tiny_xgb
    holdout = _holdout(tmp_path)
    assert run("models", "register", str(model), "--name", "fraud")[0] == 0
    code, _, err = run("evaluate", "fraud:1", "--data", str(holdout), "--label", "is_fraud")
    assert code == 1 and "--label column 'is_fraud' is not in" in err and "region" in err
    code, _, err = run("evaluate", "fraud:1", "--data", str(holdout), "--label", "label",
                       "--slice", "country")
    assert code == 1 and "--slice column 'country'" in err
    code, _, err = run("policy", "set", "fraud", "--criterion", "auc >>= 1")
    assert code == 1 and "cannot read acceptance criterion" in err


def test_four_eyes_approval_through_the_server(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster], tmp_path: Path, home: Path,
) -> None:
    model, _, _ = tiny_xgb
    holdout = _holdout(tmp_path)
    assert run("models", "register", str(model), "--name", "fraud")[0] == 0  # registered by alice
    assert run("policy", "set", "fraud", "--require-approval")[0] == 0
    assert run("evaluate", "fraud:1", "--data", str(holdout), "--label", "label")[0] == 0
    code, _, err = run("models", "alias", "fraud", "production", "1")
    assert code == 1 and "an approval by an approver other than 'alice'" in err
    with Registry.open(RegistrySettings(home=home)) as registry:
        store = KeyStore(registry.engine)
        keys = {name: store.create(name=name, role=role, actor="test").token
                for name, role in (("alice", "approver"), ("risk-officer", "approver"),
                                   ("ops", "deployer"))}
    server = ServerProcess(home, ["fraud"], workers=1)
    try:
        server.wait_ready()
        code, _, err = run("models", "approve", "fraud:1", "--note", "self", "--server",
                           server.url, "--key", keys["alice"])
        assert code == 1 and "four eyes" in err
        code, _, err = run("models", "approve", "fraud:1", "--note", "ops", "--server",
                           server.url, "--key", keys["ops"])
        assert code == 1 and "403" in err and "approver" in err
        code, _, err = run("models", "approve", "fraud:1", "--note", "x", "--server",
                           server.url, "--key", "mp_nonsense")
        assert code == 1 and "401" in err
        code, out, err = run("models", "approve", "fraud:1", "--note", "risk review 2026-12",
                             "--server", server.url, "--key", keys["risk-officer"])
        assert code == 0, err
        assert "approved fraud:1 as risk-officer" in out
    finally:
        server.stop()
    assert run("models", "alias", "fraud", "production", "1")[0] == 0
    with Registry.open(RegistrySettings(home=home)) as registry:
        entries = list_audit(registry.engine)
    approved = [e for e in entries if e.action == "model.approve"]
    assert len(approved) == 1 and approved[0].details["note"] == "risk review 2026-12"
    assert any(e.action == "model.approve.refused" for e in entries)
