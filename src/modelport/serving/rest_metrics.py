"""``GET /metrics``: the Prometheus exposition of every worker, in front of the REST app.

A thin ASGI wrapper, so the REST app's route table stays the inference protocol's. Rendering
reads every worker's metric files, which is file I/O: it runs in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from modelport.monitoring.metrics import CONTENT_TYPE
from modelport.protocol.json_codec import encode_error
from modelport.serving.rest_io import Receive, Scope, Send, send_bytes

__all__ = ["METRICS_PATH", "MetricsRoute"]

METRICS_PATH = "/metrics"
_TYPE = CONTENT_TYPE.encode()


class MetricsRoute:
    """Answers ``GET /metrics`` with ``render()``; passes everything else to ``app``."""

    def __init__(self, app: Any, render: Callable[[], bytes]) -> None:
        self.app = app
        self._render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != METRICS_PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await send_bytes(send, 405, encode_error(f"{METRICS_PATH} takes GET"))
            return
        body = await asyncio.to_thread(self._render)
        await send_bytes(send, 200, body, _TYPE)
