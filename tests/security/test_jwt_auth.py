"""JWT verification: the happy paths, and every forged, stale or misdirected token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from modelport.errors import InvalidInput, PermissionDenied, Unauthenticated
from modelport.security.jwt_auth import JwtConfig, JwtVerifier
from modelport.security.roles import Role

from .tokens import SECRET, ec_key, jwks, rsa_key, token

RSA = rsa_key()
EC = ec_key()


@pytest.fixture
def hs(tmp_path: Path) -> JwtVerifier:
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    return JwtVerifier(JwtConfig(secret_file=secret, issuer="https://idp", audience="modelport"),
                       environ={})


def hs_token(**claims: Any) -> str:
    return token(SECRET, "HS256", **{"iss": "https://idp", "aud": "modelport", **claims})


@pytest.fixture
def keyset(tmp_path: Path) -> JwtVerifier:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks((RSA, "r1"), (EC, "e1"))))
    return JwtVerifier(JwtConfig(jwks_file=path), environ={})


def test_hs256_token_gives_its_subject_role_and_models(hs: JwtVerifier) -> None:
    principal, exp = hs.verify(hs_token(models=["fraud"]))
    assert (principal.id, principal.role, principal.models, principal.method) == (
        "jwt:alice", Role.PREDICTOR, frozenset({"fraud"}), "jwt")
    assert exp > 0


def test_secret_from_the_environment() -> None:
    verifier = JwtVerifier(JwtConfig(), environ={"MODELPORT_JWT_SECRET": SECRET})
    assert verifier.verify(token(SECRET, "HS256"))[0].name == "alice"
    assert JwtConfig().enabled({"MODELPORT_JWT_SECRET": SECRET})
    assert not JwtConfig().enabled({})


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"lifetime_s": -120}, "token expired"),
        ({"nbf": 4102444800}, "token not valid yet"),
        ({"iss": "https://evil"}, "invalid token"),
        ({"aud": "other"}, "invalid token"),
        ({"aud": None}, "invalid token"),
        ({"sub": None}, "invalid token"),
    ],
)
def test_stale_or_misdirected_tokens_are_refused(
    hs: JwtVerifier, claims: dict[str, Any], message: str
) -> None:
    with pytest.raises(Unauthenticated) as caught:
        hs.verify(hs_token(**claims))
    assert caught.value.message == message


def test_small_clock_skew_is_tolerated(hs: JwtVerifier) -> None:
    assert hs.verify(hs_token(lifetime_s=-10))[0].name == "alice"  # leeway 30 s


def test_token_without_expiry_is_refused(hs: JwtVerifier) -> None:
    raw = jwt.encode({"sub": "a", "role": "admin", "iss": "https://idp", "aud": "modelport"},
                     SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated, match="invalid token"):
        hs.verify(raw)


def test_wrong_secret_is_refused_without_saying_why(hs: JwtVerifier) -> None:
    forged = token("x" * 48, "HS256", iss="https://idp", aud="modelport")
    with pytest.raises(Unauthenticated) as caught:
        hs.verify(forged)
    assert caught.value.message == "invalid token"
    assert caught.value.details["reason"] == "InvalidSignatureError"


def _unsigned(claims: dict[str, Any]) -> str:
    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_alg_none_is_refused(hs: JwtVerifier, keyset: JwtVerifier) -> None:
    forged = _unsigned({"sub": "mallory", "role": "admin", "exp": 4102444800,
                        "iss": "https://idp", "aud": "modelport"})
    for verifier in (hs, keyset):
        with pytest.raises(Unauthenticated, match="invalid token"):
            verifier.verify(forged)


def test_public_key_used_as_hmac_secret_is_refused(tmp_path: Path) -> None:
    """Algorithm confusion: the attacker signs HS256 with the (public) RSA key."""
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks((RSA, "r1"))))
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    pem = RSA.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "kid": "r1", "typ": "JWT"}
    body = {"sub": "mallory", "role": "admin", "exp": 4102444800}
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    forged = f"{signing}.{b64(hmac.new(pem, signing.encode(), hashlib.sha256).digest())}"
    only_jwks = JwtVerifier(JwtConfig(jwks_file=path), environ={})
    both = JwtVerifier(JwtConfig(jwks_file=path, secret_file=secret), environ={})
    for verifier in (only_jwks, both):
        with pytest.raises(Unauthenticated, match="invalid token"):
            verifier.verify(forged)


def test_rs256_and_es256_from_a_jwks_file(keyset: JwtVerifier) -> None:
    assert keyset.verify(token(RSA, "RS256", kid="r1"))[0].role == Role.PREDICTOR
    assert keyset.verify(token(EC, "ES256", kid="e1", role="viewer"))[0].role == Role.VIEWER
    with pytest.raises(Unauthenticated, match="invalid token"):  # meant for another service
        keyset.verify(token(RSA, "RS256", kid="r1", aud="billing"))


def test_a_key_verifies_only_its_own_algorithm(keyset: JwtVerifier) -> None:
    with pytest.raises(Unauthenticated) as caught:
        keyset.verify(token(EC, "ES256", kid="r1"))  # EC token naming the RSA key
    assert "does not fit" in caught.value.details["reason"]
    for alg in ("PS256", "RS512", "HS512"):
        key = RSA if alg[0] in "PR" else SECRET * 2
        with pytest.raises(Unauthenticated, match="invalid token"):
            keyset.verify(token(key, alg, kid="r1"))


def test_a_token_signed_by_an_unknown_key_is_refused(keyset: JwtVerifier) -> None:
    with pytest.raises(Unauthenticated, match="invalid token"):
        keyset.verify(token(rsa_key(), "RS256", kid="r1"))
    with pytest.raises(Unauthenticated) as caught:
        keyset.verify(token(rsa_key(), "RS256", kid="nope"))
    assert caught.value.details["reason"] == "unknown key id"


def test_role_from_a_nested_claim_picks_the_highest(tmp_path: Path) -> None:
    secret = tmp_path / "s"
    secret.write_text(SECRET)
    verifier = JwtVerifier(JwtConfig(secret_file=secret, role_claim="realm_access.roles"),
                           environ={})
    raw = token(SECRET, "HS256", role=None,
                realm_access={"roles": ["offline_access", "viewer", "deployer"]})
    assert verifier.verify(raw)[0].role == Role.DEPLOYER
    with pytest.raises(PermissionDenied, match=r"no modelport role in claim 'realm_access.roles'"):
        verifier.verify(token(SECRET, "HS256"))


def test_configuration_mistakes_teach(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("tiny")
    with pytest.raises(InvalidInput, match="at least 32 random bytes"):
        JwtVerifier(JwtConfig(secret_file=short), environ={})
    with pytest.raises(InvalidInput, match="cannot read --jwt-secret-file"):
        JwtVerifier(JwtConfig(secret_file=tmp_path / "missing"), environ={})
    with pytest.raises(InvalidInput, match="needs a key"):
        JwtVerifier(JwtConfig(), environ={})
    with pytest.raises(InvalidInput, match="must use https://"):
        JwtVerifier(JwtConfig(jwks_url="http://idp.example/jwks.json"), environ={})
    with pytest.raises(InvalidInput, match="not both"):
        JwtConfig(jwks_url="https://a", jwks_file=tmp_path / "b")


class _Jwks:
    """A JWKS endpoint on localhost whose keys the test can rotate; counts fetches."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = jwks((RSA, "r1"))
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                body = json.dumps(owner.document).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def idp() -> Iterator[_Jwks]:
    endpoint = _Jwks()
    yield endpoint
    endpoint.server.shutdown()


def test_jwks_url_keys_are_cached_and_rotated(idp: _Jwks) -> None:
    verifier = JwtVerifier(JwtConfig(jwks_url=idp.url, jwks_min_refresh_s=0.0), environ={})
    for _ in range(3):
        verifier.verify(token(RSA, "RS256", kid="r1"))
    assert idp.fetches == 1  # cached
    rotated = rsa_key()
    idp.document = jwks((rotated, "r2"))
    assert verifier.verify(token(rotated, "RS256", kid="r2"))[0].name == "alice"
    assert idp.fetches == 2  # the unknown kid caused one reload


def test_unknown_key_ids_cannot_cause_a_reload_storm(idp: _Jwks) -> None:
    verifier = JwtVerifier(JwtConfig(jwks_url=idp.url, jwks_min_refresh_s=60.0), environ={})
    verifier.verify(token(RSA, "RS256", kid="r1"))
    for n in range(20):
        with pytest.raises(Unauthenticated):
            verifier.verify(token(RSA, "RS256", kid=f"made-up-{n}"))
    assert idp.fetches == 1
