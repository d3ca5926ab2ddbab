"""What the agent asks the server: the current version, a manifest, the artifact, heartbeats.

Downloads go to a ``.part`` file and resume from its length with a ``Range`` request, so a
restart (or a cut connection) never fetches bytes twice; ``max_rate`` caps bytes per second
for metered links. Signatures are checked against the device's pinned public key before any
byte is downloaded, and the sha256 of the bytes after.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from modelport.errors import ModelportError, UnsafeArtifact
from modelport.security.signing import verify_artifact

__all__ = ["Fetcher", "Refused", "sha256_of"]

_CHUNK = 64 * 1024


class Refused(ModelportError):
    """The offered version must not be installed (bad signature, altered bytes, failing rows).

    ``remember``: the device never fetches this version again (its bytes or rows are bad);
    signature refusals are not remembered, as checking one costs no download."""

    def __init__(self, message: str, *, remember: bool = True) -> None:
        super().__init__(message)
        self.remember = remember


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Fetcher:
    """HTTP calls of one agent, on one connection pool."""

    def __init__(self, client: httpx.AsyncClient, *, max_rate: float | None = None) -> None:
        self.client = client
        self.max_rate = max_rate
        self.etag: str | None = None
        self.bytes_in = 0

    async def current(self, model: str, alias: str, device: str) -> dict[str, Any] | None:
        """The offered version, or None when it did not change since the last poll (304)."""
        headers = {"If-None-Match": self.etag} if self.etag else {}
        response = await self.client.get(f"/v2/edge/{model}/current",
                                          params={"alias": alias, "device": device},
                                          headers=headers)
        self.bytes_in += len(response.content)
        if response.status_code == 304:
            return None
        _raise_for(response)
        self.etag = response.headers.get("etag")
        doc: dict[str, Any] = response.json()
        return doc

    async def manifest(self, url: str) -> dict[str, Any]:
        response = await self.client.get(url)
        self.bytes_in += len(response.content)
        _raise_for(response)
        doc: dict[str, Any] = response.json()
        return doc

    async def download(self, url: str, part: Path, size: int, sha256: str) -> Path:
        """The artifact at ``part``, complete and matching ``sha256``; Refused otherwise."""
        have = part.stat().st_size if part.exists() else 0
        if have > size:
            part.unlink()
            have = 0
        if have < size:
            headers = {"Range": f"bytes={have}-"} if have else {}
            async with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code not in (200, 206):
                    await response.aread()
                    _raise_for(response)
                mode = "ab" if response.status_code == 206 else "wb"
                started, got = time.monotonic(), 0
                with part.open(mode) as f:
                    async for chunk in response.aiter_bytes(_CHUNK):
                        f.write(chunk)
                        got += len(chunk)
                        self.bytes_in += len(chunk)
                        if self.max_rate:
                            ahead = got / self.max_rate - (time.monotonic() - started)
                            if ahead > 0:
                                await asyncio.sleep(ahead)
                    f.flush()
                    os.fsync(f.fileno())
        digest = await asyncio.to_thread(sha256_of, part)
        if digest != sha256:
            part.unlink(missing_ok=True)
            raise Refused(f"downloaded artifact has sha256 {digest[:12]}..., the signed record "
                          f"says {sha256[:12]}...: altered in transit or at rest; refused",
                          remember=False)
        return part

    async def heartbeat(self, model: str, body: dict[str, Any]) -> None:
        response = await self.client.post(f"/v2/edge/{model}/heartbeat", json=body)
        _raise_for(response)


def check_signature(
    key: Ed25519PublicKey | None, name: str, version: int, sha256: str, signature: str | None
) -> None:
    """Refused unless the pinned key signed exactly this name, version and sha256."""
    if key is None:
        return
    if not signature:
        raise Refused(f"{name}:{version} is not signed; this device installs only versions "
                      "signed by its pinned key", remember=False)
    try:
        verify_artifact(key, name=name, version=version, sha256=sha256, signature=signature)
    except UnsafeArtifact:
        raise Refused(f"{name}:{version}: the signature does not verify with the device's "
                      "pinned key (altered record, or signed by another key)",
                      remember=False) from None


class ServerError(ModelportError):
    """The server answered with an error status."""


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        message = str(response.json().get("error", response.text))
    except ValueError:
        message = response.text[:200]
    raise ServerError(f"server answered {response.status_code} to {response.request.url.path}: "
                      f"{message}")
