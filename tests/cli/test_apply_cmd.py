"""``modelport apply -f`` and ``export``: dry run, idempotence, all-or-nothing, the promotion
policy, clear errors naming file, line and field, and a round trip through export."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import xgboost as xgb

from modelport.config import RegistrySettings
from modelport.registry import Registry
from modelport.security.audit import list_audit

from .conftest import Run
from .test_governance_cmd import _holdout, _weak_model


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fraud.yaml"
    path.write_text(text)
    return path


def test_apply_dry_run_then_yes_then_nothing(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster], tmp_path: Path, home: Path,
) -> None:
    model, _, _ = tiny_xgb
    weak = _weak_model(tmp_path)
    declared = tmp_path / "models"
    _write(declared, f"""model: fraud
description: card fraud
versions:
  - version: 1
    artifact: {model}
    sha256: {_sha(model)}
    metrics: {{auc: 0.97}}
aliases:
  production: 1
""")
    code, out, err = run("apply", "-f", str(declared))
    assert code == 0, err
    assert "dry run" in out and "register fraud:1" in out
    assert run("models", "list", "--json")[1].strip() in ("[]", "")
    code, out, err = run("apply", "-f", str(declared), "--yes", "--revision", "abc123")
    assert code == 0 and "applied 2 change(s) from abc123" in out, err
    code, out, _ = run("apply", "-f", str(declared), "--yes")
    assert code == 0 and "no changes" in out
    code, out, _ = run("models", "show", "fraud@production", "--json")
    assert json.loads(out)["version"] == 1

    # a protected alias may not move to a new, unevaluated version: nothing is applied
    _write(declared, f"""model: fraud
versions:
  - {{version: 1, artifact: {model}, sha256: {_sha(model)}, metrics: {{auc: 0.97}}}}
  - {{version: 2, artifact: {weak}, sha256: {_sha(weak)}}}
aliases:
  production: 2
policy:
  protected: [production]
  criteria: ["auc >= 0.9"]
""")
    code, _, err = run("apply", "-f", str(declared), "--yes")
    assert code == 1 and "nothing was changed" in err and "line 6: aliases.production" in err
    assert "version 2 is new (not evaluated)" in err
    with Registry.open(RegistrySettings(home=home)) as registry:
        assert [v.version for v in registry.list_versions("fraud")] == [1]
    # declare the version first, evaluate it, then the alias: the weak model fails
    text = (declared / "fraud.yaml").read_text().replace("  production: 2", "  production: 1")
    _write(declared, text)
    assert run("apply", "-f", str(declared), "--yes", "--revision", "def456")[0] == 0
    assert run("evaluate", "fraud:2", "--data", str(_holdout(tmp_path)), "--label",
               "label")[0] == 3
    _write(declared, text.replace("  production: 1", "  production: 2"))
    code, _, err = run("apply", "-f", str(declared))
    assert code == 1 and "needs a passing evaluation" in err
    with Registry.open(RegistrySettings(home=home)) as registry:
        revisions = {e.details.get("revision") for e in list_audit(registry.engine)
                     if e.action.startswith("gitops.")}
    assert revisions == {"abc123", "def456"}  # an apply that changes nothing records nothing


@pytest.mark.parametrize(("body", "message"), [
    ("model: fraud\nversions: []\ncolour: red\n", "line 3: colour: unknown field"),
    ("model: fraud\nversions:\n  - version: 1\n    artifact: {model}\n    sha256: {bad}\n",
     "line 5: versions.0.sha256: does not match"),
    ("model: fraud\nversions:\n  - version: 1\n    artifact: {model}\n    sha256: {sha}\n"
     "aliases:\n  production: 4\n", "line 7: aliases.production: version 4 is not among"),
    ("model: fraud\nversions:\n  - version: 3\n    artifact: {model}\n    sha256: {sha}\n",
     "line 3: fraud:3 does not exist and the next registration would be version 1"),
    ("model: [1]\n", "line 1: model:"),
    ("model: fraud\nversions: [\n", "not valid YAML"),
])
def test_bad_files_name_file_line_and_field(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster], tmp_path: Path, body: str,
    message: str,
) -> None:
    model, _, _ = tiny_xgb
    path = _write(tmp_path / "models", body.format(model=model, sha=_sha(model), bad="ab" * 32))
    code, _, err = run("apply", "-f", str(path.parent), "--yes")
    assert code == 1, err
    assert str(path) in err and message in err
    assert run("models", "list", "--json")[1].strip() in ("[]", "")


def test_export_round_trips(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model, _, _ = tiny_xgb
    assert run("models", "register", str(model), "--name", "fraud", "--alias",
               "production")[0] == 0
    assert run("models", "register", str(_weak_model(tmp_path)), "--name", "fraud")[0] == 0
    assert run("policy", "set", "fraud", "--require-approval")[0] == 0
    out_dir = tmp_path / "exported"
    assert run("export", str(out_dir))[0] == 0
    code, out, _ = run("apply", "-f", str(out_dir))
    assert code == 0 and "no changes" in out
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "elsewhere"))
    code, out, err = run("apply", "-f", str(out_dir), "--yes", "--json")
    assert code == 0, err
    kinds = sorted(c["kind"] for c in json.loads(out)["changes"])
    assert kinds == ["alias", "policy", "register", "register"]
    code, out, _ = run("policy", "show", "fraud", "--json")
    assert json.loads(out)["require_approval"] is True


def test_apply_starts_a_deployment_once_and_the_policy_gates_it(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster], tmp_path: Path,
) -> None:
    model, _, _ = tiny_xgb
    weak = _weak_model(tmp_path)
    declared = tmp_path / "models"
    versions = f"""model: fraud
versions:
  - {{version: 1, artifact: {model}, sha256: {_sha(model)}}}
  - {{version: 2, artifact: {weak}, sha256: {_sha(weak)}}}
"""
    _write(declared, versions)
    assert run("apply", "-f", str(declared), "--yes")[0] == 0
    _write(declared, versions + """policy: {protected: [production], criteria: ["auc >= 0.9"]}
deployments:
  - {endpoint: fraud, strategy: blue-green, stable: "fraud:1", candidate: "fraud:2"}
""")
    code, _, err = run("apply", "-f", str(declared), "--yes")
    assert code == 1 and "line 7: deployment of fraud:2" in err and "passing evaluation" in err
    code, out, err = run("deploy", "list", "--json")
    assert code == 0 and json.loads(out) == [], err
    # without the policy the rollout starts, once
    _write(declared, versions + """deployments:
  - {endpoint: fraud, strategy: blue-green, stable: "fraud:1", candidate: "fraud:2"}
""")
    code, out, err = run("apply", "-f", str(declared), "--yes", "--json")
    assert code == 0, err
    assert [c["kind"] for c in json.loads(out)["changes"]] == ["deploy"]
    code, out, _ = run("apply", "-f", str(declared), "--yes")
    assert code == 0 and "no changes" in out
