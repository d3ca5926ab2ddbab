"""Security: API keys and JWTs, RBAC, the hash-chained audit log, limits, artifact signing.

Transports authenticate each call (:class:`Authenticator`), check it against the one RBAC
table (:mod:`modelport.security.policy`), and record control-plane actions with
:func:`append_audit`. Nothing here knows HTTP or gRPC: the adapters live in
``modelport.serving.rest_auth`` and ``modelport.serving.grpc_auth``.
"""

from modelport.security.audit import AuditEntry, AuditReport, append_audit, list_audit, verify_audit
from modelport.security.authn import Authenticator
from modelport.security.config import SecurityConfig, TlsConfig, check_start
from modelport.security.jwt_auth import JwtConfig, JwtVerifier
from modelport.security.keys import KeyRecord, KeyStore, NewKey
from modelport.security.limits import ConcurrencyCap, RateLimit, RateLimiter
from modelport.security.roles import ANONYMOUS, Principal, Role, authorize

__all__ = [
    "ANONYMOUS",
    "AuditEntry",
    "AuditReport",
    "Authenticator",
    "ConcurrencyCap",
    "JwtConfig",
    "JwtVerifier",
    "KeyRecord",
    "KeyStore",
    "NewKey",
    "Principal",
    "RateLimit",
    "RateLimiter",
    "Role",
    "SecurityConfig",
    "TlsConfig",
    "append_audit",
    "authorize",
    "check_start",
    "list_audit",
    "verify_audit",
]
