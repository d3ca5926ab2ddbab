"""``modelport audit``: CLI actions land in the log; verify names a tampered row."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
import xgboost as xgb
from typer.testing import CliRunner

from modelport.cli.audit_cmd import app
from modelport.config import RegistrySettings
from modelport.errors import InvalidInput
from modelport.registry import Registry, db
from modelport.registry.tables_security import audit_log
from modelport.security.signing import SIGNATURE_TAG
from tests.cli.conftest import Run

runner = CliRunner()


def entries(*args: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ["list", "--json", *args])
    assert result.exit_code == 0, result.output
    data: list[dict[str, object]] = json.loads(result.stdout)
    return data


def test_model_commands_are_audited_and_signed(
    run: Run, home: Path, tiny_xgb: tuple[Path, Path, xgb.Booster], tmp_path: Path
) -> None:
    from modelport.cli.auth_cmd import app as auth_app

    key = tmp_path / "sign.pem"
    assert runner.invoke(auth_app, ["signing-key", "create", "--out", str(key)]).exit_code == 0
    model = str(tiny_xgb[0])
    assert run("models", "register", model, "--name", "fraud", "--sign-key", str(key))[0] == 0
    assert run("models", "register", model, "--name", "fraud")[0] == 0
    assert run("models", "alias", "fraud", "production", "2")[0] == 0
    assert run("models", "alias", "fraud", "production", "1")[0] == 0
    assert run("models", "delete", "fraud:2", "--yes")[0] == 0
    rows = entries()
    assert [(r["action"], r["actor"], r["target"]) for r in rows] == [
        ("model.register", "alice", "fraud:1"),
        ("model.register", "alice", "fraud:2"),
        ("alias.move", "alice", "fraud@production"),
        ("alias.move", "alice", "fraud@production"),
        ("model.delete", "alice", "fraud:2"),
    ]
    assert [r["details"]["signed"] for r in rows[:2]] == [True, False]  # type: ignore[index]
    assert rows[3]["details"] == {"from": 2, "to": 1}
    with Registry.open(RegistrySettings(home=home)) as registry:
        assert SIGNATURE_TAG in registry.resolve("fraud:1").tags
    assert [r["target"] for r in entries("--action", "alias.", "--limit", "1")] == [
        "fraud@production"]
    assert entries("--actor", "bob") == []
    assert len(entries("--since", "1h")) == 5
    table = runner.invoke(app, ["list", "--since", "1d", "--actor", "alice"])
    assert "model.register" in table.stdout


def test_verify_passes_then_names_the_tampered_row(
    run: Run, home: Path, tiny_xgb: tuple[Path, Path, xgb.Booster]
) -> None:
    for _ in range(3):
        run("models", "register", str(tiny_xgb[0]), "--name", "fraud")
    ok = runner.invoke(app, ["verify"])
    assert ok.exit_code == 0 and "audit log intact: 3 row(s)" in ok.stdout
    head = json.loads(runner.invoke(app, ["verify", "--json"]).stdout)["head"]
    assert runner.invoke(app, ["verify", "--anchor", head]).exit_code == 0
    with Registry.open(RegistrySettings(home=home)) as registry, db.transaction(
        registry.engine, write=True
    ) as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 2).values(actor="mallory"))
    bad = runner.invoke(app, ["verify", "--json"])
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["problems"] == [
        {"seq": 2, "kind": "edited",
         "message": "row 2 was edited: its content no longer matches its hash"}]
    malformed = runner.invoke(app, ["verify", "--anchor", "3"])
    assert isinstance(malformed.exception, InvalidInput)


def test_audit_list_is_readable_at_80_columns(
    run: Run, home: Path, tiny_xgb: tuple[Path, Path, xgb.Booster]
) -> None:
    assert run("models", "register", str(tiny_xgb[0]), "--name", "fraud")[0] == 0
    assert run("models", "alias", "fraud", "production", "1")[0] == 0
    code, out, _ = run("audit", "list")
    assert code == 0
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), out
    assert "…" not in out
    heads = [line for line in lines if line.startswith("#")]
    assert [h.split()[4] for h in heads] == ["model.register", "alias.move"]
    assert heads[1].endswith("fraud@production")
    details = " ".join(line.strip() for line in lines if line.startswith("    "))
    sha = json.loads(run("audit", "list", "--json")[1])[0]["details"]["sha256"]
    assert f"sha256={sha}" in details  # whole, never cut
