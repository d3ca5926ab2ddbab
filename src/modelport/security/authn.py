"""Authentication for both transports: credentials in, a :class:`Principal` out.

Credentials arrive as ``Authorization: Bearer <token>`` or ``X-API-Key: <key>``; a token
starting ``mp_`` is an API key, one with two dots a JWT. Verified answers (good and bad)
are cached for ``cache_ttl_s`` by the sha256 of the credential, so the hot path costs one
hash and one dict lookup; a revoked key stops working on every worker within that time.

While no key exists and no JWT key is configured the authenticator is *open*: everyone is
:data:`ANONYMOUS`. :meth:`Authenticator.watch` notices the first key being created and turns
authentication on; it never turns it off again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from modelport.errors import ModelportError, PermissionDenied, Unauthenticated
from modelport.security.jwt_auth import JwtVerifier
from modelport.security.keys import PREFIX, KeyStore
from modelport.security.roles import ANONYMOUS, Principal

__all__ = ["Authenticator", "extract_credential"]

log = logging.getLogger(__name__)

_MAX_TOKEN = 8192
_MAX_CACHED = 10_000


def extract_credential(authorization: str | None, api_key: str | None) -> str | None:
    """The one credential a request carries, or None; Unauthenticated when malformed."""
    token: str | None = None
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated(
                "malformed Authorization header: send 'Authorization: Bearer <token>'",
                details={"reason": "malformed header"},
            )
        token = value.strip()
    if api_key is not None:
        key = api_key.strip()
        if token is not None and key != token:
            raise Unauthenticated(
                "send one credential: Authorization or X-API-Key, not both",
                details={"reason": "two credentials"},
            )
        token = key or None
        if token is None:
            raise Unauthenticated("empty X-API-Key header", details={"reason": "empty header"})
    if token is not None and len(token) > _MAX_TOKEN:
        raise Unauthenticated("credential too long", details={"reason": "oversized"})
    return token


class Authenticator:
    """Verifies API keys and JWTs, with a short per-worker cache."""

    def __init__(
        self,
        *,
        keys: KeyStore | None = None,
        jwt: JwtVerifier | None = None,
        cache_ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.keys, self.jwt = keys, jwt
        self.cache_ttl_s = cache_ttl_s
        self._clock, self._wall = clock, wall
        self._cache: OrderedDict[str, tuple[Principal | ModelportError, float]] = OrderedDict()
        self.enforcing = jwt is not None
        """False while the server runs open (no key exists, no JWT key configured)."""

    def refresh(self) -> bool:
        """Check (blocking) whether a key exists now; True once authentication is on."""
        if not self.enforcing and self.keys is not None and self.keys.exists():
            self.enforcing = True
            log.warning("an API key exists: authentication is now required")
        return self.enforcing

    async def watch(self, interval_s: float = 2.0) -> None:
        """Poll for the first key until authentication is on (run as a task)."""
        while not self.enforcing:
            try:
                await asyncio.to_thread(self.refresh)
            except ModelportError as exc:
                log.error("cannot check for API keys: %s", exc.message)
            await asyncio.sleep(interval_s)

    async def authenticate(self, authorization: str | None, api_key: str | None) -> Principal:
        """The caller, :data:`ANONYMOUS` when open; Unauthenticated or PermissionDenied."""
        if not self.enforcing:
            return ANONYMOUS
        token = extract_credential(authorization, api_key)
        if token is None:
            raise Unauthenticated(
                "authentication required: send 'Authorization: Bearer <API key or JWT>' "
                "or 'X-API-Key: <API key>'",
                details={"reason": "no credentials"},
            )
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
        now = self._clock()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            outcome = hit[0]
        else:
            outcome, valid_for = await asyncio.to_thread(self._verify, token)
            self._remember(digest, outcome, now + min(self.cache_ttl_s, valid_for))
        if isinstance(outcome, ModelportError):
            raise type(outcome)(outcome.message, details=outcome.details)  # a fresh traceback
        return outcome

    def verify_now(self, token: str) -> Principal:
        """Uncached, blocking verification (for tests and tools)."""
        outcome, _ = self._verify(token)
        if isinstance(outcome, ModelportError):
            raise outcome
        return outcome

    def _verify(self, token: str) -> tuple[Principal | ModelportError, float]:
        try:
            if token.startswith(PREFIX + "_"):
                if self.keys is None:
                    raise Unauthenticated("invalid API key", details={"reason": "no key store"})
                principal, expires = self.keys.verify(token)
                left = expires.timestamp() - self._wall() if expires else self.cache_ttl_s
                return principal, left
            if token.count(".") == 2:
                if self.jwt is None:
                    raise Unauthenticated("invalid token", details={"reason": "JWT not enabled"})
                principal, exp = self.jwt.verify(token)
                return principal, exp - self._wall()
            raise Unauthenticated(
                "malformed credentials: expected an API key (mp_...) or a JWT",
                details={"reason": "unrecognised credential"},
            )
        except (Unauthenticated, PermissionDenied) as exc:
            return exc, self.cache_ttl_s
        except ModelportError as exc:  # e.g. the database is down: do not remember that
            return exc, 0.0

    def _remember(self, digest: str, outcome: Principal | ModelportError, until: float) -> None:
        self._cache[digest] = (outcome, until)
        self._cache.move_to_end(digest)
        while len(self._cache) > _MAX_CACHED:
            self._cache.popitem(last=False)
