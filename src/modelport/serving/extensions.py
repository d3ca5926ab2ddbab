"""Extensions: ASGI apps a higher layer (the web console) puts in front of a worker's REST app.

Serving sits below the dashboard and never imports it: :attr:`ServeConfig.extensions` names
factories as ``"module:function"`` strings, and each worker imports them after the fork and
hands them the :class:`WorkerParts` they may use. An extension wraps the REST app (outermost,
in front of authentication: it answers only its own paths) and is started and closed with the
worker.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from modelport.errors import InvalidInput
from modelport.monitoring.config import MonitoringConfig
from modelport.registry import Registry
from modelport.security.authn import Authenticator

__all__ = ["Extension", "ExtensionFactory", "WorkerParts", "load_extensions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerParts:
    """What one worker shares with its extensions."""

    registry: Registry | None
    """The registry the worker serves from; None for models defined in Python."""
    authn: Authenticator | None
    """The worker's authenticator (keys and JWTs); None when security is off."""
    metrics: Callable[[], bytes] | None
    """Renders the Prometheus text of every worker; None with ``--no-metrics``."""
    monitoring: MonitoringConfig
    """Inference log location, drift and performance settings."""
    tls: bool
    """Whether the REST port speaks HTTPS (cookies are then marked Secure)."""


class Extension(Protocol):
    """One extension of a worker's REST app."""

    def wrap(self, app: Any) -> Any:
        """The ASGI app to serve: ``app`` with this extension's routes in front."""

    async def start(self) -> None:
        """After the data plane started: begin background work."""

    async def close(self) -> None:
        """Before the worker's security and database connections close."""


ExtensionFactory = Callable[[WorkerParts], Extension]


def load_extensions(paths: Sequence[str], parts: WorkerParts) -> list[Extension]:
    """Import each ``module:function`` factory and build its extension."""
    out: list[Extension] = []
    for path in paths:
        module_name, sep, attr = path.partition(":")
        if not sep or not module_name or not attr:
            raise InvalidInput(f"extension {path!r} must look like 'package.module:function'")
        try:
            factory: ExtensionFactory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise InvalidInput(f"cannot load extension {path!r}: {exc}") from None
        out.append(factory(parts))
    return out
