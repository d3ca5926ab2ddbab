"""JWT bearer tokens: HS256 with a shared secret, RS256 and ES256 with an issuer's JWKS.

The accepted algorithm is decided by the key, never by the token: HS256 only with the
configured secret, RS256/ES256 only with a JWKS key of the matching type. ``alg: none`` and
every other algorithm are refused. ``exp`` and ``sub`` are required; ``nbf``, the issuer and
the audience are checked when configured. The role comes from a configurable claim (a
dotted path such as ``realm_access.roles``; a list picks the highest known role).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from modelport.errors import InvalidInput, PermissionDenied, Unauthenticated
from modelport.security.jwks import JwksCache
from modelport.security.roles import Principal, Role, parse_models

__all__ = ["JwtConfig", "JwtVerifier"]

SECRET_ENV = "MODELPORT_JWT_SECRET"
_MIN_SECRET_BYTES = 32
INVALID_TOKEN = "invalid token"


@dataclass(frozen=True, slots=True, kw_only=True)
class JwtConfig:
    """Where the verification keys come from and which claims are checked."""

    secret_file: Path | None = None
    """File holding the HS256 secret (else the MODELPORT_JWT_SECRET environment variable)."""
    jwks_url: str | None = None
    """The issuer's JWKS URL (RS256, ES256)."""
    jwks_file: Path | None = None
    """A JWKS file (RS256, ES256)."""
    issuer: str | None = None
    """Required ``iss``; unchecked when None."""
    audience: str | None = None
    """Required ``aud``; tokens that carry an ``aud`` are refused when None."""
    role_claim: str = "role"
    """Claim (dotted path) holding the role or a list of roles."""
    models_claim: str = "models"
    """Claim holding the models the token is limited to (a list or "a,b")."""
    leeway_s: float = 30.0
    """Clock skew tolerated on ``exp`` and ``nbf``."""
    jwks_min_refresh_s: float = 30.0
    """Shortest time between two JWKS reloads caused by unknown key ids."""

    def __post_init__(self) -> None:
        if self.jwks_url and self.jwks_file:
            raise InvalidInput("give --jwt-jwks-url or --jwt-jwks-file, not both")

    def enabled(self, environ: Mapping[str, str] = os.environ) -> bool:
        """Whether any verification key is configured (turns authentication on)."""
        return bool(
            self.secret_file or self.jwks_url or self.jwks_file or environ.get(SECRET_ENV)
        )


class JwtVerifier:
    """Turns a token into a :class:`Principal`, or refuses it with Unauthenticated."""

    def __init__(self, config: JwtConfig, *, environ: Mapping[str, str] = os.environ) -> None:
        self.config = config
        self._secret = _read_secret(config, environ)
        self._jwks: JwksCache | None = None
        if config.jwks_url or config.jwks_file:
            self._jwks = JwksCache(
                url=config.jwks_url, path=config.jwks_file,
                min_refresh_s=config.jwks_min_refresh_s,
            )
        if self._secret is None and self._jwks is None:
            raise InvalidInput(
                f"JWT authentication needs a key: --jwt-secret-file, ${SECRET_ENV}, "
                "--jwt-jwks-url or --jwt-jwks-file"
            )

    def verify(self, token: str) -> tuple[Principal, float]:
        """The principal and the token's ``exp`` (epoch seconds)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated(INVALID_TOKEN, details={"reason": "malformed token"}) from None
        alg = header.get("alg")
        key: Any
        if alg == "HS256" and self._secret is not None:
            key = self._secret
        elif alg in ("RS256", "ES256") and self._jwks is not None:
            kid = header.get("kid")
            found = self._jwks.get(str(kid) if kid is not None else None)
            if found is None:
                raise Unauthenticated(INVALID_TOKEN, details={"reason": "unknown key id"})
            if found.algorithm != alg:
                raise Unauthenticated(
                    INVALID_TOKEN, details={"reason": f"alg {alg} does not fit the key"}
                )
            key = found.key
        else:
            raise Unauthenticated(
                INVALID_TOKEN, details={"reason": f"algorithm {str(alg)[:16]!r} not accepted"}
            )
        claims = self._decode(token, key, str(alg))
        return self._principal(claims), float(claims["exp"])

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        cfg = self.config
        required = ["exp", "sub"] + (["iss"] if cfg.issuer else []) + (["aud"] if cfg.audience
                                                                      else [])
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[alg], audience=cfg.audience, issuer=cfg.issuer,
                leeway=cfg.leeway_s, options={"require": required, "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired", details={"reason": "expired"}) from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("token not valid yet", details={"reason": "nbf"}) from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(
                INVALID_TOKEN, details={"reason": type(exc).__name__}
            ) from None
        return claims

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        subject = str(claims["sub"])[:200]
        role = _role(_claim(claims, self.config.role_claim))
        if role is None:
            raise PermissionDenied(
                f"token of {subject!r} carries no modelport role in claim "
                f"{self.config.role_claim!r} (one of admin, deployer, predictor, viewer)"
            )
        scope = _claim(claims, self.config.models_claim)
        models = parse_models(scope) if isinstance(scope, str | list) else None
        return Principal(id=f"jwt:{subject}", name=subject, role=role, models=models,
                         method="jwt")


def _read_secret(config: JwtConfig, environ: Mapping[str, str]) -> bytes | None:
    if config.secret_file is not None:
        try:
            secret = config.secret_file.read_bytes().strip()
        except OSError as exc:
            raise InvalidInput(
                f"cannot read --jwt-secret-file {config.secret_file}: {exc.strerror}"
            ) from None
    elif environ.get(SECRET_ENV):
        secret = environ[SECRET_ENV].encode()
    else:
        return None
    if len(secret) < _MIN_SECRET_BYTES:
        raise InvalidInput(
            f"the HS256 secret is {len(secret)} bytes; use at least {_MIN_SECRET_BYTES} random "
            "bytes, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return secret


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _role(value: Any) -> Role | None:
    names = value if isinstance(value, list) else [value]
    known = [Role[str(n).upper()] for n in names if str(n).upper() in Role.__members__]
    return max(known) if known else None
