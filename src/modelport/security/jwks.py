"""Signing keys of a JWT issuer (a JWKS), from a file or a URL, cached and rotated.

Each key is pinned to one algorithm by its type: RSA keys verify RS256 only, P-256 EC keys
ES256 only. Symmetric (``oct``) keys in a JWKS are ignored, so a public key can never be
used as an HMAC secret (algorithm confusion). A token naming a key id we do not know
triggers a reload, at most once per ``min_refresh_s`` (key rotation without a restart, and
no reload storm from tokens with made-up key ids).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from modelport.errors import InvalidInput, Unavailable

__all__ = ["JwksCache", "SigningKey"]

log = logging.getLogger(__name__)

_MAX_BYTES = 1 << 20
_PINNED = {"RSA": "RS256", "EC": "ES256"}


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str | None
    algorithm: str
    """The one algorithm this key may verify."""
    key: Any
    """The public key object (cryptography)."""


class JwksCache:
    """Keys by key id, loaded lazily and reloaded on unknown ids or when older than
    ``max_age_s``."""

    def __init__(
        self,
        *,
        url: str | None = None,
        path: Path | None = None,
        max_age_s: float = 600.0,
        min_refresh_s: float = 30.0,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (url is None) == (path is None):
            raise InvalidInput("give exactly one of a JWKS URL or a JWKS file")
        if url is not None:
            _check_url(url)
        self.url, self.path = url, path
        self.max_age_s, self.min_refresh_s, self.timeout_s = max_age_s, min_refresh_s, timeout_s
        self._clock = clock
        self._keys: dict[str | None, SigningKey] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    @property
    def source(self) -> str:
        return self.url or str(self.path)

    def get(self, kid: str | None) -> SigningKey | None:
        """The key for ``kid``; reloads when it is unknown (rate-limited) or stale."""
        now = self._clock()
        stale = self._loaded_at is None or now - self._loaded_at >= self.max_age_s
        if stale or (kid not in self._keys and self._may_reload(now)):
            self.reload()
        key = self._keys.get(kid)
        if key is None and kid is None and len(self._keys) == 1:
            key = next(iter(self._keys.values()))  # a single key needs no kid
        return key

    def _may_reload(self, now: float) -> bool:
        return self._loaded_at is None or now - self._loaded_at >= self.min_refresh_s

    def reload(self) -> None:
        """Fetch the keys now; on failure keep the old ones (and log why)."""
        with self._lock:
            now = self._clock()
            try:
                keys = _parse(self._fetch(), self.source)
            except (Unavailable, InvalidInput) as exc:
                self._loaded_at = now  # do not retry on every request
                log.error("could not load JWT signing keys (keeping %d known): %s",
                          len(self._keys), exc.message)
                return
            self._keys, self._loaded_at = keys, now
            log.info("loaded %d JWT signing key(s) from %s", len(keys), self.source)

    def _fetch(self) -> bytes:
        if self.path is not None:
            try:
                return self.path.read_bytes()[: _MAX_BYTES + 1]
            except OSError as exc:
                raise Unavailable(f"cannot read JWKS file {self.path}: {exc.strerror}") from None
        assert self.url is not None
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                data: bytes = response.read(_MAX_BYTES + 1)
                return data
        except OSError as exc:
            raise Unavailable(f"cannot fetch JWKS from {self.url}: {exc}") from None


def _check_url(url: str) -> None:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "https":
        return
    host = parsed.hostname or ""
    loopback = host == "localhost"
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    if parsed.scheme != "http" or not loopback:
        raise InvalidInput(
            f"JWKS URL {url!r} must use https:// (plain http only for localhost), "
            "or use --jwt-jwks-file"
        )


def _parse(data: bytes, source: str) -> dict[str | None, SigningKey]:
    if len(data) > _MAX_BYTES:
        raise InvalidInput(f"JWKS from {source} is larger than {_MAX_BYTES} bytes")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"JWKS from {source} is not JSON: {exc}") from None
    entries = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise InvalidInput(f'JWKS from {source} must be a JSON object {{"keys": [...]}}')
    keys: dict[str | None, SigningKey] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        algorithm = _PINNED.get(str(entry.get("kty")))
        if algorithm is None or entry.get("alg", algorithm) != algorithm:
            log.warning("JWKS from %s: skipping key %r (kty %r, alg %r): only RSA keys for "
                        "RS256 and P-256 keys for ES256 are accepted", source,
                        entry.get("kid"), entry.get("kty"), entry.get("alg"))
            continue
        if algorithm == "ES256" and entry.get("crv") != "P-256":
            continue
        try:
            jwk = PyJWK(entry, algorithm)
        except PyJWKError as exc:
            log.warning("JWKS from %s: skipping unreadable key %r: %s", source,
                        entry.get("kid"), exc)
            continue
        kid = entry.get("kid")
        keys[str(kid) if kid is not None else None] = SigningKey(
            kid=str(kid) if kid is not None else None, algorithm=algorithm, key=jwk.key
        )
    if not keys:
        raise InvalidInput(f"JWKS from {source} holds no usable RSA or P-256 signing key")
    return keys
