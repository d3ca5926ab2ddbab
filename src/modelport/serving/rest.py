"""The REST transport: a raw ASGI app speaking the Open Inference Protocol V2 (with the binary
tensor data and model repository extensions) plus the friendly predict route.

Handlers only decode, call the :class:`DataPlane` and encode; errors become ``{"error": ...}``
with the status from :mod:`rest_errors`. Plain ASGI rather than a framework keeps the infer
path to a handful of awaits; see ``benchmarks/serving`` for the measurement.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from modelport import __version__
from modelport.errors import InvalidInput, ModelportError
from modelport.protocol.json_codec import (
    decode_request,
    encode_error,
    encode_response,
    parse_header_length,
    requested_binary_outputs,
)
from modelport.serving.dataplane import DataPlane
from modelport.serving.explaining import EXPLAIN_PARAMETER, explanation_document
from modelport.serving.openapi import DOCS_HTML, openapi_document
from modelport.serving.pipeline import CallContext
from modelport.serving.rest_errors import http_status
from modelport.serving.rest_io import (
    ClientGone,
    Receive,
    RequestHeaders,
    Scope,
    Send,
    read_body,
    send_bytes,
)
from modelport.serving.rest_predict import predict_rows

__all__ = ["DEFAULT_MAX_BODY_BYTES", "FeedbackHandler", "RestApp"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024

_MODELS = "/v2/models/"
_V1 = "/v1/models/"
_REPO = "/v2/repository/models/"
_OCTET = b"application/octet-stream"
_HTML = b"text/html; charset=utf-8"
_TRUE_LIVE = orjson.dumps({"live": True})
_READY = orjson.dumps({"ready": True})
_NOT_READY = orjson.dumps({"ready": False})

Handler = Callable[["RestApp", Scope, Receive, Send], Awaitable[None]]

FeedbackHandler = Callable[[str, bytes], Awaitable[dict[str, Any]]]
"""``POST /v2/models/{name}/feedback``: (name, body) -> the JSON answer."""


class RestApp:
    """The ASGI application. With ``manage_plane`` it starts and stops the data plane on the
    ASGI lifespan events (what ``uvicorn module:app`` needs); otherwise its owner does."""

    def __init__(
        self,
        plane: DataPlane,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        manage_plane: bool = False,
        preload: bool = False,
        feedback: FeedbackHandler | None = None,
    ) -> None:
        if max_body_bytes < 1:
            raise InvalidInput(f"max_body_bytes must be >= 1, got {max_body_bytes}")
        self.plane = plane
        self.max_body_bytes = max_body_bytes
        self._manage_plane = manage_plane
        self._preload = preload
        self._feedback = feedback
        self._arrivals = plane.arrivals
        self._server_metadata = orjson.dumps(plane.server_metadata())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        try:
            if path.startswith(_MODELS):
                await self._model_route(path[len(_MODELS):], method, scope, receive, send)
                return
            route = _ROUTES.get(path)
            if route is not None:
                want, handler = route
                _check_method(method, want, path)
                await handler(self, scope, receive, send)
            elif path.startswith(_REPO):
                await self._repository(path[len(_REPO):], method, send)
            elif path.startswith(_V1) and path.endswith(":predict"):
                _check_method(method, "POST", path)
                body = await read_body(receive, RequestHeaders(scope), self.max_body_bytes)
                name = path[len(_V1):-len(":predict")]
                ctx = _context(scope, name, None) if self.plane.staged else None
                answer, extra = await predict_rows(self.plane, name, body, ctx)
                await send_bytes(send, 200, answer, extra=extra)
            else:
                raise _NoRoute(f"no route {method} {path}; the API is described at /docs")
        except ModelportError as exc:
            retry = exc.details.get("retry_after_s")  # overload: tell the client when
            retry_header = [(b"retry-after", b"%d" % retry)] if type(retry) is int else None
            await send_bytes(send, http_status(exc), encode_error(exc.message),
                             extra=retry_header)
        except _NoRoute as exc:
            await send_bytes(send, exc.status, encode_error(str(exc)))
        except ClientGone:
            return
        except Exception as exc:
            log.exception("unexpected error answering %s %s", method, path)
            await send_bytes(send, 500, encode_error(f"internal error: {type(exc).__name__}"))

    # -- /v2/models/{name}[/versions/{v}][/ready|/infer] ----------------------------------

    async def _model_route(
        self, rest: str, method: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        parts = rest.split("/")
        name = parts[0]
        version: str | None = None
        if len(parts) >= 3 and parts[1] == "versions":
            version = parts[2]
            del parts[1:3]
        action = parts[1] if len(parts) == 2 else ("" if len(parts) == 1 else None)
        if action == "infer":
            _check_method(method, "POST", scope["path"])
            await self._infer(name, version, scope, receive, send)
        elif action == "explain":
            _check_method(method, "POST", scope["path"])
            await self._explain(name, version, scope, receive, send)
        elif action == "":
            _check_method(method, "GET", scope["path"])
            meta = await self.plane.model_metadata(name, version)
            await send_bytes(send, 200, orjson.dumps(meta))
        elif action == "feedback" and self._feedback is not None:
            _check_method(method, "POST", scope["path"])
            body = await read_body(receive, RequestHeaders(scope), self.max_body_bytes)
            await send_bytes(send, 200, orjson.dumps(await self._feedback(name, body)))
        elif action == "ready":
            _check_method(method, "GET", scope["path"])
            ready = await self.plane.model_ready(name, version)
            body = orjson.dumps({"name": name, "ready": ready})
            await send_bytes(send, 200 if ready else 400, body)
        else:
            raise _NoRoute(f"no route {method} {scope['path']}; the API is described at /docs")

    async def _infer(
        self, name: str, version: str | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        arrivals = self._arrivals
        arrivals.enter()
        arrived = False
        try:
            headers = RequestHeaders(scope)
            deadline = headers.deadline() if headers.deadline_ms is not None else None
            body = await read_body(receive, headers, self.max_body_bytes)
            request = decode_request(
                body, header_length=parse_header_length(headers.inference_header_length())
            )
            arrived = True
            arrivals.leave()
            ctx = _context(scope, name, version) if self.plane.staged else None
            response = await self.plane.infer(name, version, request, ctx, deadline=deadline)
        finally:
            if not arrived:
                arrivals.leave()
        payload, header_length = encode_response(
            response, binary_outputs=requested_binary_outputs(request)
        )
        # which version answered (routing may have chosen it): x-model-version
        answered = response.model_version
        extra = [(b"x-model-version", answered.encode())] if answered else []
        if header_length is None:
            await send_bytes(send, 200, payload, extra=extra)
        else:
            extra.append((b"inference-header-content-length", b"%d" % header_length))
            await send_bytes(send, 200, payload, _OCTET, extra)

    async def _explain(
        self, name: str, version: str | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """An infer request answered with its predictions and one explanation per row."""
        headers = RequestHeaders(scope)
        body = await read_body(receive, headers, self.max_body_bytes)
        request = decode_request(
            body, header_length=parse_header_length(headers.inference_header_length())
        )
        request.parameters[EXPLAIN_PARAMETER] = True
        ctx = _context(scope, name, version) if self.plane.staged else None
        response = await self.plane.infer(name, version, request, ctx)
        doc = explanation_document(response)
        extra = [(b"x-model-version", response.model_version.encode())] \
            if response.model_version else []
        await send_bytes(send, 200, orjson.dumps(doc), extra=extra)

    # -- health, metadata, docs --------------------------------------------------------------

    async def _live(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, _TRUE_LIVE)

    async def _ready(self, scope: Scope, receive: Receive, send: Send) -> None:
        ready = self.plane.ready()
        await send_bytes(send, 200 if ready else 400, _READY if ready else _NOT_READY)

    async def _metadata(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, self._server_metadata)

    async def _openapi(self, scope: Scope, receive: Receive, send: Send) -> None:
        models = self.plane.models
        described = [(name, await models.signature(name)) for name in await models.names()]
        doc = openapi_document(described, version=__version__)
        await send_bytes(send, 200, orjson.dumps(doc))

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, DOCS_HTML, _HTML)

    # -- the repository extension ------------------------------------------------------------

    async def _index(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive, RequestHeaders(scope), self.max_body_bytes)
        only_ready = _ready_filter(body)
        entries: list[dict[str, Any]] = []
        for status in await self.plane.repository_index():
            if only_ready and status.state != "READY":
                continue
            entry: dict[str, Any] = {"name": status.name, "state": status.state.value}
            if status.version is not None:
                entry["version"] = status.version
            if status.reason:
                entry["reason"] = status.reason
            entries.append(entry)
        await send_bytes(send, 200, orjson.dumps(entries))

    async def _repository(self, rest: str, method: str, send: Send) -> None:
        name, _, action = rest.partition("/")
        if action not in ("load", "unload"):
            raise _NoRoute(f"no route {method} {_REPO}{rest}; use .../{name}/load or /unload")
        _check_method(method, "POST", f"{_REPO}{rest}")
        if action == "load":
            await self.plane.load_model(name)
        else:
            await self.plane.unload_model(name)
        await send_bytes(send, 200, b"{}")

    # -- lifespan ----------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self._manage_plane:
                        await self.plane.start(preload=self._preload)
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._manage_plane:
                    await self.plane.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


class _NoRoute(Exception):
    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


def _context(scope: Scope, name: str, version: str | None) -> CallContext:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    return CallContext(name=name, version=version, protocol="rest", headers=headers)


def _check_method(method: str, want: str, path: str) -> None:
    if method != want:
        raise _NoRoute(f"{path} takes {want}, not {method}", status=405)


def _ready_filter(body: bytes) -> bool:
    if not body.strip():
        return False
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"repository index body is not valid JSON: {exc}") from None
    if type(doc) is not dict:
        raise InvalidInput('repository index body must be a JSON object like {"ready": true}')
    return doc.get("ready") is True


_ROUTES: dict[str, tuple[str, Handler]] = {
    "/v2/health/live": ("GET", RestApp._live),
    "/v2/health/ready": ("GET", RestApp._ready),
    "/v2": ("GET", RestApp._metadata),
    "/v2/": ("GET", RestApp._metadata),
    "/v2/repository/index": ("POST", RestApp._index),
    "/openapi.json": ("GET", RestApp._openapi),
    "/docs": ("GET", RestApp._docs),
}
