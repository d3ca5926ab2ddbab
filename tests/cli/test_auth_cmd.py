"""``modelport auth``: keys are shown once, listed without secrets, revoked; signing keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelport.cli.auth_cmd import app
from modelport.config import RegistrySettings
from modelport.errors import InvalidInput, Unauthenticated
from modelport.registry import Registry
from modelport.security.keys import KeyStore
from modelport.security.roles import Role

runner = CliRunner()


def keys(home: Path) -> KeyStore:
    return KeyStore(Registry.open(RegistrySettings(home=home)).engine)


def test_create_shows_the_key_once_and_it_works(home: Path) -> None:
    result = runner.invoke(app, ["keys", "create", "--name", "checkout", "--role", "predictor",
                                 "--models", "fraud,churn", "--expires", "90d"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    principal, expires = keys(home).verify(token)
    assert principal.role == Role.PREDICTOR and principal.models == {"fraud", "churn"}
    assert expires is not None
    listed = runner.invoke(app, ["keys", "list", "--json"])
    [row] = json.loads(listed.stdout)
    assert (row["name"], row["state"], row["models"]) == ("checkout", "active", ["churn", "fraud"])
    assert token.split("_", 2)[2] not in listed.stdout
    table = runner.invoke(app, ["keys", "list"])
    assert "checkout" in table.stdout and token not in table.stdout


def test_revoke(home: Path) -> None:
    created = json.loads(runner.invoke(app, ["keys", "create", "-n", "old", "-r", "admin",
                                             "--json"]).stdout)
    result = runner.invoke(app, ["keys", "revoke", created["key_id"]])
    assert result.exit_code == 0 and "revoked key" in result.stdout
    with pytest.raises(Unauthenticated, match="revoked"):
        keys(home).verify(created["key"])


def test_bad_input_teaches(home: Path) -> None:
    bad_role = runner.invoke(app, ["keys", "create", "-n", "x", "-r", "root"])
    assert isinstance(bad_role.exception, InvalidInput)
    assert "viewer, predictor, deployer, approver, admin" in bad_role.exception.message
    bad_expiry = runner.invoke(app, ["keys", "create", "-n", "x", "-r", "viewer",
                                     "--expires", "forever"])
    assert isinstance(bad_expiry.exception, InvalidInput)
    assert "e.g. 30m" in bad_expiry.exception.message
    assert runner.invoke(app, ["keys", "revoke", "nope"]).exit_code != 0


def test_signing_key_pair(tmp_path: Path, home: Path) -> None:
    out = tmp_path / "key.pem"
    assert runner.invoke(app, ["signing-key", "create", "--out", str(out)]).exit_code == 0
    assert out.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "key.pub.pem").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    again = runner.invoke(app, ["signing-key", "create", "--out", str(out)])
    assert isinstance(again.exception, InvalidInput) and "--force" in again.exception.message
