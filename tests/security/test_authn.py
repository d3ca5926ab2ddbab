"""The authenticator: credential parsing, API keys and JWTs, the cache, open until a key."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from modelport.errors import Unauthenticated
from modelport.security.authn import Authenticator, extract_credential
from modelport.security.jwt_auth import JwtConfig, JwtVerifier
from modelport.security.keys import KeyStore
from modelport.security.roles import ANONYMOUS, Role

from .tokens import SECRET, token


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("authorization", "api_key", "want"),
    [
        ("Bearer abc", None, "abc"),
        ("bearer   abc ", None, "abc"),
        (None, "abc", "abc"),
        ("Bearer abc", "abc", "abc"),
        (None, None, None),
    ],
)
def test_credentials_are_found(authorization: str | None, api_key: str | None,
                               want: str | None) -> None:
    assert extract_credential(authorization, api_key) == want


@pytest.mark.parametrize(
    ("authorization", "api_key", "message"),
    [
        ("Basic dXNlcjpwYXNz", None, "Bearer <token>"),
        ("Bearer ", None, "Bearer <token>"),
        ("Bearer a", "b", "not both"),
        (None, " ", "empty X-API-Key"),
        ("Bearer " + "x" * 9000, None, "too long"),
    ],
)
def test_malformed_credentials_are_refused(authorization: str | None, api_key: str | None,
                                           message: str) -> None:
    with pytest.raises(Unauthenticated, match=message):
        extract_credential(authorization, api_key)


async def test_open_until_the_first_key_then_enforcing(lite: Engine) -> None:
    store = KeyStore(lite)
    authn = Authenticator(keys=store)
    assert not authn.refresh()
    assert await authn.authenticate(None, None) is ANONYMOUS
    new = store.create(name="svc", role="viewer", actor="a")
    assert authn.refresh()
    with pytest.raises(Unauthenticated, match="authentication required"):
        await authn.authenticate(None, None)
    principal = await authn.authenticate(f"Bearer {new.token}", None)
    assert principal.role == Role.VIEWER
    assert await authn.authenticate(None, new.token) == principal


async def test_verified_keys_are_cached_for_the_ttl(lite: Engine) -> None:
    store = KeyStore(lite)
    clock = Clock()
    authn = Authenticator(keys=store, cache_ttl_s=5.0, clock=clock)
    new = store.create(name="svc", role="admin", actor="a")
    assert authn.refresh()
    assert (await authn.authenticate(None, new.token)).method == "api_key"
    store.revoke(new.record.key_id, actor="a")
    clock.now = 4.9
    assert (await authn.authenticate(None, new.token)).role == Role.ADMIN  # still cached
    clock.now = 5.1
    with pytest.raises(Unauthenticated, match="is revoked"):
        await authn.authenticate(None, new.token)


async def test_cached_refusals_raise_fresh_errors(lite: Engine) -> None:
    authn = Authenticator(keys=KeyStore(lite))
    authn.enforcing = True
    errors = []
    for _ in range(3):
        with pytest.raises(Unauthenticated) as caught:
            await authn.authenticate(None, "mp_0123456789ab_" + "A" * 43)
        errors.append(caught.value)
    assert errors[0] is not errors[1] and errors[2].message == "invalid API key"


async def test_jwts_and_junk(tmp_path: Path) -> None:
    secret = tmp_path / "s"
    secret.write_text(SECRET)
    authn = Authenticator(jwt=JwtVerifier(JwtConfig(secret_file=secret), environ={}))
    assert authn.enforcing  # a JWT key alone turns authentication on
    assert (await authn.authenticate(f"Bearer {token(SECRET, 'HS256')}", None)).id == "jwt:alice"
    with pytest.raises(Unauthenticated, match="malformed credentials"):
        await authn.authenticate("Bearer hunter2", None)
    with pytest.raises(Unauthenticated, match="invalid API key"):  # no key store here
        await authn.authenticate(None, "mp_0123456789ab_" + "A" * 43)
