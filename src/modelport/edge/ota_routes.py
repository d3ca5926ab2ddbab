"""The server side of over-the-air updates: routes under ``/v2/edge/`` in front of the REST app.

    GET  /v2/edge/{name}/current?alias=edge&device=ID   the version this device should run
    GET  /v2/edge/{name}/versions/{v}/manifest           sha256, signature, schema, check rows
    GET  /v2/edge/{name}/versions/{v}/artifact           the ONNX bytes (ETag, Range)
    POST /v2/edge/{name}/heartbeat                       {"device", "version", "last_error",
                                                          "stats"}

Everything a device polls carries an ETag, and a matching ``If-None-Match`` is answered 304
with no body, so an unchanged poll costs a few hundred bytes. Versions never change once
registered, so their manifests and artifact paths are cached for the worker's life; the
``name@alias`` answer (alias plus staged rollout) is cached for one second. Heartbeats are
buffered and written in one transaction every half second. Security's wrapper has already
authorised the caller: the ``device`` role, scoped to ``name``, is enough for these routes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson

from modelport.edge.fleet import Fleet, Heartbeat, check_device_id
from modelport.edge.manifest import build_manifest
from modelport.errors import InvalidInput, ModelportError, NotFound
from modelport.protocol.json_codec import encode_error
from modelport.registry import ModelRef, Registry, VersionInfo
from modelport.registry.tables import utcnow
from modelport.security import policy
from modelport.security.roles import Role
from modelport.serving.rest_errors import http_status
from modelport.serving.rest_io import Receive, RequestHeaders, Scope, Send, read_body, send_bytes

__all__ = ["EDGE_PREFIX", "OtaRoutes", "wrap_ota"]

log = logging.getLogger(__name__)

EDGE_PREFIX = "/v2/edge/"
_CHUNK = 256 * 1024
_ALIAS_TTL_S = 1.0
_FLUSH_S = 0.5
_MAX_BODY = 64 * 1024


class OtaRoutes:
    """Answers ``/v2/edge/...`` from the registry; passes everything else to ``app``."""

    def __init__(self, app: Any, registry: Registry, *, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.app = app
        self.registry = registry
        self.fleet = Fleet(registry)
        self._clock = clock
        self._current: dict[tuple[str, str, str], tuple[float, VersionInfo]] = {}
        self._versions: dict[tuple[str, int], VersionInfo] = {}
        self._manifests: dict[tuple[str, int], bytes] = {}
        self._paths: dict[tuple[str, int], Path] = {}
        self._beats: list[Heartbeat] = []
        self._flusher: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(EDGE_PREFIX):
            await self.app(scope, receive, send)
            return
        method, parts = scope["method"], scope["path"][len(EDGE_PREFIX):].split("/")
        try:
            name = parts[0]
            if parts[1:] == ["current"] and method == "GET":
                await self._current_version(name, scope, send)
            elif len(parts) == 4 and parts[1] == "versions" and method == "GET" and \
                    parts[3] in ("manifest", "artifact"):
                version = _version(parts[2])
                if parts[3] == "manifest":
                    await self._manifest(name, version, scope, send)
                else:
                    await self._artifact(name, version, scope, send)
            elif parts[1:] == ["heartbeat"] and method == "POST":
                body = await read_body(receive, RequestHeaders(scope), _MAX_BODY)
                self._heartbeat(name, body)
                await send_bytes(send, 200, b'{"accepted":true}')
            else:
                raise NotFound(f"no route {method} {scope['path']}; the edge routes are "
                               f"{EDGE_PREFIX}NAME/current, .../versions/V/manifest|artifact, "
                               ".../heartbeat")
        except ModelportError as exc:
            await send_bytes(send, http_status(exc), encode_error(exc.message))

    # -- handlers ------------------------------------------------------------------------

    async def _current_version(self, name: str, scope: Scope, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        alias = query.get("alias", ["edge"])[0]
        device = check_device_id(query.get("device", ["anonymous"])[0])
        info = await self._resolve_current(name, alias, device)
        etag = f'"{info.version}-{info.artifact_sha256[:16]}"'.encode()
        if _matches(scope, etag):
            await _not_modified(send, etag)
            return
        base = f"{EDGE_PREFIX}{name}/versions/{info.version}"
        body = orjson.dumps({
            "name": name, "alias": alias, "version": info.version,
            "sha256": info.artifact_sha256, "size": info.artifact_size,
            "signature": info.tags.get("modelport.signature.ed25519"),
            "manifest": f"{base}/manifest", "artifact": f"{base}/artifact",
        })
        await send_bytes(send, 200, body, extra=[(b"etag", etag),
                                                 (b"cache-control", b"no-cache")])

    async def _manifest(self, name: str, version: int, scope: Scope, send: Send) -> None:
        key = (name, version)
        etag = f'"m-{version}"'.encode()
        if _matches(scope, etag):
            await _not_modified(send, etag)
            return
        body = self._manifests.get(key)
        if body is None:
            info = await self._version_info(name, version)
            manifest = await asyncio.to_thread(build_manifest, self.registry, info)
            body = self._manifests[key] = orjson.dumps(manifest)
        await send_bytes(send, 200, body, extra=[(b"etag", etag)])

    async def _artifact(self, name: str, version: int, scope: Scope, send: Send) -> None:
        info = await self._version_info(name, version)
        if info.flavor != "onnx":
            raise InvalidInput(f"{info.ref} is a {info.flavor} model; devices get ONNX versions "
                               f"(modelport convert {info.ref} --to onnx)")
        etag = f'"{info.artifact_sha256}"'.encode()
        if _matches(scope, etag):
            await _not_modified(send, etag)
            return
        path = self._paths.get((name, version))
        if path is None:
            path = await asyncio.to_thread(self.registry.fetch_artifact, info)
            self._paths[(name, version)] = path
        size = info.artifact_size
        start, end = _range(scope, size)
        status = 206 if (start, end) != (0, size - 1) or _header(scope, b"range") else 200
        headers = [(b"content-type", b"application/octet-stream"),
                   (b"content-length", b"%d" % (end - start + 1)),
                   (b"etag", etag), (b"accept-ranges", b"bytes")]
        if status == 206:
            headers.append((b"content-range", b"bytes %d-%d/%d" % (start, end, size)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        with path.open("rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = f.read(min(_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                await send({"type": "http.response.body", "body": chunk,
                            "more_body": left > 0})

    def _heartbeat(self, name: str, body: bytes) -> None:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"heartbeat body is not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise InvalidInput('heartbeat body must be an object like {"device": "d1", ...}')
        version, stats, error = doc.get("version"), doc.get("stats") or {}, doc.get("last_error")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise InvalidInput(f"heartbeat 'version' must be a whole number, got {version!r}")
        if not isinstance(stats, dict) or (error is not None and not isinstance(error, str)):
            raise InvalidInput("heartbeat 'stats' must be an object and 'last_error' a string")
        alias = doc.get("alias")
        self._beats.append(Heartbeat(
            model=name, device_id=check_device_id(str(doc.get("device", ""))),
            alias=alias if isinstance(alias, str) else None, version=version,
            last_error=error[:2000] if error else None, stats=stats, at=utcnow()))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(_FLUSH_S)
        beats, self._beats = self._beats, []
        try:
            await asyncio.to_thread(self.fleet.record, beats)
        except ModelportError as exc:
            log.error("could not store %d edge heartbeats: %s", len(beats), exc.message)

    # -- lookups -------------------------------------------------------------------------

    async def _resolve_current(self, name: str, alias: str, device: str) -> VersionInfo:
        key = (name, alias, device)
        now = self._clock()
        hit = self._current.get(key)
        if hit is not None and now - hit[0] < _ALIAS_TTL_S:
            return hit[1]
        version = await asyncio.to_thread(self.fleet.version_for, name, alias, device)
        info = await self._version_info(name, version)
        if len(self._current) > 100_000:
            self._current.clear()
        self._current[key] = (now, info)
        return info

    async def _version_info(self, name: str, version: int) -> VersionInfo:
        info = self._versions.get((name, version))
        if info is None:
            info = await asyncio.to_thread(self.registry.resolve, ModelRef(name, version=version))
            self._versions[(name, version)] = info
        return info


def _version(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"version must be a whole number >= 1, got {text!r:.40}")
    return int(text)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _matches(scope: Scope, etag: bytes) -> bool:
    given = _header(scope, b"if-none-match")
    return given is not None and (given.strip() == b"*" or etag in given.split(b", "))


async def _not_modified(send: Send, etag: bytes) -> None:
    await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", etag)]})
    await send({"type": "http.response.body", "body": b""})


def _range(scope: Scope, size: int) -> tuple[int, int]:
    """``bytes=A-`` or ``bytes=A-B`` -> (A, B) inclusive; the whole file without a header."""
    given = _header(scope, b"range")
    if given is None:
        return 0, size - 1
    text = given.decode("latin-1").strip()
    unit, _, spec = text.partition("=")
    first, _, last = spec.partition("-")
    if unit != "bytes" or "," in spec or not first.isdigit() or (last and not last.isdigit()):
        raise InvalidInput(f"Range {text!r:.60} is not supported; send one 'bytes=START-[END]'")
    start, end = int(first), int(last) if last else size - 1
    if start >= size or end < start:
        raise InvalidInput(f"Range {text} is outside the artifact's {size} bytes")
    return start, min(end, size - 1)


_RULES: list[str] = []


def wrap_ota(app: Any, source: object) -> Any:
    """``app`` with the edge routes in front, when the models come from a registry."""
    registry = getattr(source, "registry", None)
    if not isinstance(registry, Registry):
        return app
    if not _RULES:  # devices (and every higher role) may use them, scoped to their models
        policy.add_rest_rule(EDGE_PREFIX, Role.DEVICE, action="fetch edge updates")
        _RULES.append(EDGE_PREFIX)
    return OtaRoutes(app, registry)
