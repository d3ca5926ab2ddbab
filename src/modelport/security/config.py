"""Security settings of one server, and the secure-by-default rule for starting it.

Plain values only: nothing here opens a file, a socket or a database.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from modelport.errors import InvalidInput
from modelport.security.jwt_auth import JwtConfig
from modelport.security.limits import RateLimit

__all__ = ["SecurityConfig", "TlsConfig", "check_start", "is_loopback"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsConfig:
    """Certificates for REST and gRPC; ``client_ca`` turns on mutual TLS."""

    cert: Path
    """PEM certificate chain of the server."""
    key: Path
    """PEM private key of the server."""
    client_ca: Path | None = None
    """PEM bundle of CAs whose client certificates are accepted (and then required)."""

    def __post_init__(self) -> None:
        for option, path in (("--tls-cert", self.cert), ("--tls-key", self.key),
                             ("--tls-client-ca", self.client_ca)):
            if path is not None and not Path(path).is_file():
                raise InvalidInput(f"{option} {path} is not a readable file")


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityConfig:
    """Authentication, limits, audit and artifact signatures for ``modelport serve``."""

    database_url: str | None = None
    """Registry database holding API keys and the audit log; None: no keys, no audit."""
    jwt: JwtConfig | None = None
    """JWT verification; None accepts no JWTs."""
    tls: TlsConfig | None = None
    """Serve REST and gRPC over TLS (1.2 or newer)."""
    allow_anonymous: bool = False
    """Run open on a non-loopback address when no key exists and no JWT key is set."""
    rate_limit: RateLimit | None = None
    """Per principal (or client address when anonymous), per worker; 429 past it."""
    request_timeout_s: float | None = None
    """Requests running longer are answered 504 (REST) or DEADLINE_EXCEEDED (gRPC)."""
    max_concurrency_per_model: int | None = None
    """In-flight requests per model and worker; more get 503 / UNAVAILABLE at once."""
    audit_predictions: bool = False
    """Append every prediction (request id, principal, version, input hash, status)."""
    require_signed: bool = False
    """Load only artifacts whose Ed25519 signature verifies with ``verify_key``."""
    verify_key: Path | None = None
    """PEM Ed25519 public key for ``require_signed``."""
    key_cache_ttl_s: float = 5.0
    """How long a worker trusts a verified credential (revocation takes at most this)."""

    def __post_init__(self) -> None:
        if self.require_signed and self.verify_key is None:
            raise InvalidInput("--require-signed needs --verify-key PUBLIC_KEY.pem")
        if self.verify_key is not None and not self.require_signed:
            raise InvalidInput("--verify-key is only used with --require-signed; add it")
        if self.request_timeout_s is not None and self.request_timeout_s <= 0:
            raise InvalidInput(
                f"--request-timeout must be > 0 seconds, got {self.request_timeout_s}"
            )
        if self.max_concurrency_per_model is not None and self.max_concurrency_per_model < 1:
            raise InvalidInput(
                "--max-concurrency-per-model must be >= 1, got "
                f"{self.max_concurrency_per_model}"
            )
        if self.key_cache_ttl_s < 0:
            raise InvalidInput(f"key_cache_ttl_s must be >= 0, got {self.key_cache_ttl_s}")

    @classmethod
    def from_options(
        cls,
        *,
        database_url: str | None,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        tls_client_ca: Path | None = None,
        jwt_jwks_url: str | None = None,
        jwt_jwks_file: Path | None = None,
        jwt_secret_file: Path | None = None,
        jwt_audience: str | None = None,
        jwt_issuer: str | None = None,
        jwt_role_claim: str = "role",
        allow_anonymous: bool = False,
        rate_limit: str | None = None,
        request_timeout_s: float | None = None,
        max_concurrency_per_model: int | None = None,
        audit_predictions: bool = False,
        require_signed: bool = False,
        verify_key: Path | None = None,
    ) -> SecurityConfig:
        """From ``modelport serve``'s command-line options (plain strings and paths)."""
        if (tls_cert is None) != (tls_key is None):
            raise InvalidInput("TLS needs both --tls-cert and --tls-key")
        if tls_client_ca is not None and tls_cert is None:
            raise InvalidInput("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key")
        tls = None
        if tls_cert is not None and tls_key is not None:
            tls = TlsConfig(cert=tls_cert, key=tls_key, client_ca=tls_client_ca)
        jwt = JwtConfig(
            secret_file=jwt_secret_file, jwks_url=jwt_jwks_url, jwks_file=jwt_jwks_file,
            issuer=jwt_issuer, audience=jwt_audience, role_claim=jwt_role_claim,
        )
        return cls(
            database_url=database_url,
            jwt=jwt,
            tls=tls,
            allow_anonymous=allow_anonymous,
            rate_limit=RateLimit.parse(rate_limit) if rate_limit else None,
            request_timeout_s=request_timeout_s,
            max_concurrency_per_model=max_concurrency_per_model,
            audit_predictions=audit_predictions,
            require_signed=require_signed,
            verify_key=verify_key,
        )

    @property
    def jwt_enabled(self) -> bool:
        return self.jwt is not None and self.jwt.enabled()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_start(host: str, config: SecurityConfig, *, keys_exist: bool) -> bool:
    """Whether authentication is on from the start; refuses an open, exposed server.

    On when a key exists or a JWT key is configured. Otherwise a loopback server may run
    open; any other address needs ``--allow-anonymous``.
    """
    if keys_exist or config.jwt_enabled:
        return True
    if is_loopback(host) or config.allow_anonymous:
        return False
    raise InvalidInput(
        f"refusing to serve on {host} without authentication: anyone who can reach it could "
        "use every model. Create an API key (modelport auth keys create --name NAME --role "
        "predictor), configure JWTs (--jwt-jwks-url, --jwt-jwks-file or --jwt-secret-file), "
        "or, for a trusted network only, pass --allow-anonymous"
    )
