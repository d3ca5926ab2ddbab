"""Signing material for JWT tests: RSA and EC keys, JWKS documents, tokens."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

SECRET = "s" * 48


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def jwk(private: Any, kid: str) -> dict[str, Any]:
    public = private.public_key()
    algo = RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else ECAlgorithm
    data: dict[str, Any] = json.loads(algo.to_jwk(public))
    data["kid"] = kid
    return data


def jwks(*pairs: tuple[Any, str]) -> dict[str, Any]:
    return {"keys": [jwk(key, kid) for key, kid in pairs]}


def token(
    key: Any, alg: str, *, kid: str | None = None, lifetime_s: float = 300, **claims: Any
) -> str:
    now = int(time.time())
    body: dict[str, Any] = {"sub": "alice", "role": "predictor", "iat": now,
                            "exp": now + lifetime_s, **claims}
    body = {k: v for k, v in body.items() if v is not None}
    headers = {"kid": kid} if kid else None
    return jwt.encode(body, key, algorithm=alg, headers=headers)
