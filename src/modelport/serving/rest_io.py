"""Raw ASGI plumbing for the REST app: read a bounded body, send a response.

Kept to plain ASGI messages so the hot path pays for no framework objects.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from modelport.errors import InvalidInput, PayloadTooLarge

__all__ = [
    "JSON",
    "ClientGone",
    "Receive",
    "RequestHeaders",
    "Scope",
    "Send",
    "read_body",
    "send_bytes",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


class RequestHeaders:
    """The few request headers the server reads, found in one pass."""

    __slots__ = ("content_encoding", "content_length", "deadline_ms", "header_length")

    def __init__(self, scope: Scope) -> None:
        self.content_length: bytes | None = None
        self.header_length: bytes | None = None
        self.content_encoding: bytes | None = None
        self.deadline_ms: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                self.content_length = value
            elif key == b"inference-header-content-length":
                self.header_length = value
            elif key == b"content-encoding":
                self.content_encoding = value
            elif key == b"x-deadline-ms":
                self.deadline_ms = value

    def deadline(self) -> float | None:
        """The ``x-deadline-ms`` header as a ``time.monotonic()`` instant counted from now."""
        raw = self.deadline_ms
        if raw is None:
            return None
        try:
            ms = float(raw)
        except ValueError:
            ms = math.nan
        if not 0 < ms < math.inf:
            raise InvalidInput(
                f"header x-deadline-ms must be a number of milliseconds > 0, "
                f"got {raw.decode('latin-1')!r}"
            )
        return time.monotonic() + ms / 1000.0

    def inference_header_length(self) -> str | None:
        value = self.header_length
        return value.decode("latin-1") if value is not None else None


async def read_body(receive: Receive, headers: RequestHeaders, limit: int) -> bytes:
    """The whole request body, refused with PayloadTooLarge past ``limit`` bytes."""
    declared = headers.content_length
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    body: bytes = message.get("body", b"")
    if message.get("more_body", False):
        chunks = [body]
        size = len(body)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
    elif len(body) > limit:
        raise _too_large(len(body), limit)
    if headers.content_encoding is not None:
        body = _decompress(body, headers.content_encoding, limit)
    return body


def _decompress(body: bytes, encoding: bytes, limit: int) -> bytes:
    name = encoding.strip().lower()
    if name in (b"", b"identity"):
        return body
    if name not in (b"gzip", b"deflate"):
        raise InvalidInput(
            f"Content-Encoding {name.decode('latin-1')!r} is not supported; "
            "send the body as gzip, deflate or uncompressed"
        )
    wbits = 16 + zlib.MAX_WBITS if name == b"gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise InvalidInput(f"request body is not valid {name.decode()} data: {exc}") from None
    if len(out) > limit:
        raise _too_large(len(out), limit, after="decompressing")
    return out


def _too_large(size: int, limit: int, after: str = "") -> PayloadTooLarge:
    where = f" after {after}" if after else ""
    return PayloadTooLarge(
        f"request body is {size} bytes{where}; the limit is {limit} bytes "
        "(raise it with --max-body-bytes or MODELPORT_MAX_BODY_BYTES)"
    )


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    if extra:
        headers += extra
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
