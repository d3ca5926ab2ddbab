"""API keys: shown once, stored as a hash, expiring, revocable, audited."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelport.errors import InvalidInput, NotFound, Unauthenticated
from modelport.registry import db
from modelport.registry.tables_security import api_keys
from modelport.security.audit import list_audit, verify_audit
from modelport.security.keys import KeyStore, parse_key, secret_digest
from modelport.security.roles import Role


def test_a_new_key_verifies_and_only_its_hash_is_stored(engine: Engine) -> None:
    store = KeyStore(engine)
    assert not store.exists()
    new = store.create(name="checkout", role="predictor", models="fraud,churn", actor="alice",
                       expires_in=timedelta(days=90))
    key_id, secret = parse_key(new.token) or ("", "")
    assert key_id == new.record.key_id and len(secret) >= 40
    assert "***" in repr(new) and secret not in repr(new)
    principal, expires = store.verify(new.token)
    assert (principal.id, principal.role, principal.models) == (
        f"key:{key_id}", Role.PREDICTOR, frozenset({"fraud", "churn"}))
    assert expires == new.record.expires_at
    with db.transaction(engine) as conn:
        row = conn.execute(sa.select(api_keys)).mappings().one()
    assert row["secret_sha256"] == secret_digest(secret)
    assert secret not in str(dict(row))
    assert store.exists()
    [entry] = list_audit(engine)
    assert (entry.action, entry.actor, entry.target) == ("key.create", "alice", f"key:{key_id}")
    assert secret not in str(entry.to_dict())


def test_every_bad_key_gets_the_same_answer(lite: Engine) -> None:
    store = KeyStore(lite)
    token = store.create(name="a", role="viewer", actor="x").token
    key_id = parse_key(token)[0]  # type: ignore[index]
    wrong_secret = f"mp_{key_id}_{'A' * 43}"
    unknown_id = f"mp_{'0' * 12}_{'A' * 43}"
    reasons = []
    for bad in (wrong_secret, unknown_id, "mp_short", token[:-1], token + "x"):
        with pytest.raises(Unauthenticated) as caught:
            store.verify(bad)
        assert caught.value.message == "invalid API key"
        reasons.append(caught.value.details["reason"])
    assert reasons[:2] == ["wrong secret", "unknown key id"]


def test_revoked_and_expired_keys_are_refused(lite: Engine) -> None:
    store = KeyStore(lite)
    revoked = store.create(name="old", role="admin", actor="alice")
    record = store.revoke(revoked.record.key_id, actor="bob")
    assert record.revoked_by == "bob" and record.to_dict()["state"] == "revoked"
    store.revoke(revoked.record.key_id, actor="carol")  # idempotent
    with pytest.raises(Unauthenticated, match="is revoked"):
        store.verify(revoked.token)
    expiring = store.create(name="soon", role="viewer", actor="a",
                            expires_in=timedelta(seconds=0.001))
    time.sleep(0.01)  # a fast machine verifies within the millisecond otherwise
    with pytest.raises(Unauthenticated, match="is expired"):
        store.verify(expiring.token)
    assert [k.state(k.created_at + timedelta(days=1)) for k in store.list()] == [
        "revoked", "expired"]
    assert [e.action for e in list_audit(lite)] == ["key.create", "key.revoke", "key.create"]
    assert verify_audit(lite).ok


def test_revoking_every_key_keeps_authentication_on(lite: Engine) -> None:
    store = KeyStore(lite)
    store.revoke(store.create(name="only", role="viewer", actor="a").record.key_id, actor="a")
    assert store.exists()


def test_bad_requests_teach(lite: Engine) -> None:
    store = KeyStore(lite)
    roles = "choose one of: device, viewer, predictor, deployer, approver, admin"
    with pytest.raises(InvalidInput, match=roles):
        store.create(name="x", role="root", actor="a")
    with pytest.raises(InvalidInput, match="1-128"):
        store.create(name=" ", role="viewer", actor="a")
    with pytest.raises(InvalidInput, match="longer than zero"):
        store.create(name="x", role="viewer", actor="a", expires_in=timedelta(0))
    with pytest.raises(NotFound, match="auth keys list"):
        store.revoke("000000000000", actor="a")
