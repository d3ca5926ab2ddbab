"""How the console joins a server: the ``modelport serve`` worker extension, and the app that
``modelport ui`` runs on its own against a registry.

``modelport serve`` names :data:`SERVE_EXTENSION` in its config; each worker then builds a
:class:`ServingConsole` with its own registry connection, authenticator and metrics, and
samples the server's metrics for the traffic charts.
"""

from __future__ import annotations

from typing import Any

from modelport.monitoring.config import DriftConfig
from modelport.registry import Registry
from modelport.security.authn import Authenticator
from modelport.serving.extensions import WorkerParts

from .app import Console, mount
from .traffic import TrafficHistory
from .web import ConsoleContext

__all__ = ["SERVE_EXTENSION", "ServingConsole", "serving_console", "standalone_app"]

SERVE_EXTENSION = "modelport.dashboard.mount:serving_console"
"""What ``modelport serve`` puts in ``ServeConfig.extensions`` (``--ui``, the default)."""

SAMPLE_INTERVAL_S = 5.0


class ServingConsole:
    """The console inside one server worker (a serving ``Extension``)."""

    def __init__(self, parts: WorkerParts, *, sample_interval_s: float = SAMPLE_INTERVAL_S
                 ) -> None:
        traffic = (TrafficHistory(parts.metrics, interval_s=sample_interval_s)
                   if parts.metrics is not None else None)
        self.ctx = ConsoleContext(
            registry=parts.registry, authn=parts.authn, traffic=traffic,
            log_root=parts.monitoring.log.root, drift=parts.monitoring.drift,
            secure_cookies=parts.tls,
        )
        self.console = Console(self.ctx)

    def wrap(self, app: Any) -> Any:
        return mount(app, self.console)

    async def start(self) -> None:
        if self.ctx.traffic is not None:
            self.ctx.traffic.start()

    async def close(self) -> None:
        if self.ctx.traffic is not None:
            await self.ctx.traffic.close()


def serving_console(parts: WorkerParts) -> ServingConsole:
    """The extension factory ``modelport serve`` names."""
    return ServingConsole(parts)


def standalone_app(registry: Registry, authn: Authenticator | None, *,
                   log_root: str | None = None, secure_cookies: bool = False) -> Any:
    """The console alone (``modelport ui``): ``/`` goes to ``/ui``; no traffic charts, since
    there is no server here whose metrics they would draw."""
    console = Console(ConsoleContext(registry=registry, authn=authn, log_root=log_root,
                                     drift=DriftConfig(), secure_cookies=secure_cookies))

    async def elsewhere(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 307,
                    "headers": [(b"location", b"/ui/models"), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    return mount(elsewhere, console)
