"""The agent's local HTTP endpoint, for apps on the device (stdlib only, one thread each).

    GET  /health   {"model", "version", "ready", "last_error", "stats"}
    POST /predict  {"inputs": {"name": [...]}} -> {"version", "outputs": {"name": [...]}}

It answers from the last good model whether or not the server is reachable.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from modelport.edge.agent import EdgeAgent
from modelport.edge.runner import jsonable
from modelport.errors import ModelportError, Unavailable

__all__ = ["serve_local"]

_MAX_BODY = 16 * 1024 * 1024


def serve_local(agent: EdgeAgent, host: str, port: int) -> ThreadingHTTPServer:
    """Start the endpoint in a daemon thread; ``shutdown()`` the returned server to stop."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: the agent logs
            return

        def _answer(self, status: int, doc: Any) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path != "/health":
                self._answer(404, {"error": "use GET /health or POST /predict"})
                return
            self._answer(200 if agent.model is not None else 503, {
                "model": agent.name, "version": agent.version, "ready": agent.model is not None,
                "last_error": agent.last_error, "stats": agent.heartbeat_body()["stats"]})

        def do_POST(self) -> None:
            if self.path != "/predict":
                self._answer(404, {"error": "use GET /health or POST /predict"})
                return
            length = int(self.headers.get("content-length") or 0)
            if length > _MAX_BODY:
                self._answer(413, {"error": f"body over {_MAX_BODY} bytes"})
                return
            try:
                doc = json.loads(self.rfile.read(length) or b"{}")
                inputs = doc.get("inputs") if isinstance(doc, dict) else None
                if not isinstance(inputs, dict):
                    raise ValueError('body must be {"inputs": {"name": [...]}}')
                outputs = agent.predict(inputs)
            except Unavailable as exc:
                self._answer(503, {"error": exc.message})
                return
            except (ValueError, ModelportError) as exc:
                self._answer(400, {"error": getattr(exc, "message", str(exc))})
                return
            self._answer(200, {"version": agent.version, "outputs": jsonable(outputs)})

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="edge-agent-http", daemon=True).start()
    return server
