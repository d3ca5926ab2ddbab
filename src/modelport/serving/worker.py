"""One worker: a data plane with uvicorn (uvloop + httptools) and the gRPC server on one loop.

SIGTERM starts a drain: both servers stop taking new requests, in-flight ones finish (up to
``drain_timeout_s``), queued batches are answered, then models are unloaded and it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import Callable, Generator, Sequence
from typing import Any

import uvicorn

from modelport.edge.ota_routes import wrap_ota
from modelport.routing.runtime import RoutingRuntime
from modelport.serving.dataplane import DataPlane
from modelport.serving.extensions import WorkerParts, load_extensions
from modelport.serving.hooks import ServingObserver
from modelport.serving.models import ModelManager
from modelport.serving.options import ServeConfig
from modelport.serving.pipeline import Stage
from modelport.serving.rest import RestApp
from modelport.serving.secure import WorkerSecurity
from modelport.serving.source import ModelSource
from modelport.serving.worker_monitoring import WorkerMonitoring

__all__ = ["SourceFactory", "build_plane", "run_worker", "serve_worker"]

log = logging.getLogger(__name__)

SourceFactory = Callable[[], ModelSource]
"""Builds the model source inside each worker (after fork: database connections are per process)."""


def build_plane(
    config: ServeConfig,
    source: ModelSource,
    stages: Sequence[Stage] = (),
    observer: ServingObserver | None = None,
) -> DataPlane:
    return DataPlane(
        ModelManager(source, config.models, observer=observer),
        stages=stages,
        default_deadline_ms=config.default_deadline_ms,
    )


class _Server(uvicorn.Server):
    """uvicorn, minus its own signal handling: the worker decides when to drain."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve_worker(
    config: ServeConfig,
    source_factory: SourceFactory,
    *,
    rest_socket: socket.socket | None = None,
    signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until one of ``signals`` arrives, then drain and return.

    ``rest_socket`` is the listening socket the supervisor shares among its workers; without
    it uvicorn binds the port alone. ``on_ready`` is called once both servers accept requests.
    """
    source = source_factory()
    security = WorkerSecurity(config.security, config.host)
    routing = RoutingRuntime.for_source(source, config.routing)
    monitoring = WorkerMonitoring(config.monitoring, source)
    # The pipeline, outermost first: monitoring observes every call (metrics, request id,
    # inference log); security checks the caller's scope, limits and audits; routing picks
    # the version the core answers with; monitoring checks the data contract last.
    stages: list[Stage] = [monitoring.observe, *security.stages()]
    if routing is not None:
        stages.append(routing.stage)
    stages.append(monitoring.validate)
    plane = build_plane(config, security.wrap_source(source), stages, monitoring.monitor)
    feedback = monitoring.feedback(routing.feedback if routing is not None else None)
    rest = RestApp(plane, max_body_bytes=config.max_body_bytes, feedback=feedback)
    app = security.wrap_rest(monitoring.wrap_rest(wrap_ota(rest, source)))
    extensions = load_extensions(config.extensions, WorkerParts(
        registry=monitoring.registry, authn=security.authn,
        metrics=monitoring.monitor.metrics.render if config.monitoring.metrics else None,
        monitoring=config.monitoring,
        tls=config.security is not None and config.security.tls is not None))
    for extension in extensions:  # outermost: e.g. the web console at /ui
        app = extension.wrap(app)
    await security.start()
    await plane.start(preload=config.preload)
    if config.preload:
        # Accept nothing before the models are in: the other workers answer meanwhile, and
        # a replacement worker never turns requests away with 503 while it warms up.
        await plane.models.wait_preloaded()
    if routing is not None:  # routes apply (their versions loaded) before the first request
        await routing.start(plane.models)
    await monitoring.start(plane.models)
    for extension in extensions:
        await extension.start()
    # What exists now (modules, models) lives as long as the worker: keep the cyclic garbage
    # collector from walking it again and again under load.
    gc.collect()
    gc.freeze()
    grpc_server: Any = None
    if config.grpc_port is not None:
        from modelport.serving.grpc_server import start_grpc_server

        grpc_server, _ = await start_grpc_server(
            plane, config.host, config.grpc_port, max_message_bytes=config.max_body_bytes,
            interceptors=security.grpc_interceptors(), credentials=security.grpc_credentials(),
        )
    rest_config = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        http="httptools",
        lifespan="off",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=int(config.drain_timeout_s),
        backlog=2048,
    )
    security.prepare_uvicorn(rest_config)  # TLS
    server = _Server(rest_config)
    loop = asyncio.get_running_loop()
    draining: list[asyncio.Task[None]] = []

    def drain() -> None:
        if server.should_exit:
            return
        log.info("draining: finishing in-flight requests")
        server.should_exit = True
        if grpc_server is not None:
            draining.append(loop.create_task(grpc_server.stop(config.drain_timeout_s)))

    for sig in signals:
        loop.add_signal_handler(sig, drain)
    try:
        serving = loop.create_task(
            server.serve(sockets=[rest_socket] if rest_socket is not None else None)
        )
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started and on_ready is not None:
            on_ready()
        await serving
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        if grpc_server is not None and not draining:
            draining.append(loop.create_task(grpc_server.stop(config.drain_timeout_s)))
        await asyncio.gather(*draining, return_exceptions=True)
        if routing is not None:
            await routing.stop()
        await plane.stop()
        for extension in extensions:
            await extension.close()
        await monitoring.close()  # after the last request: the log writes what it holds
        await security.close()


def run_worker(
    config: ServeConfig,
    source_factory: SourceFactory,
    *,
    rest_socket: socket.socket | None = None,
    signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run :func:`serve_worker` on a fresh uvloop event loop (the blocking entry point)."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(
            serve_worker(
                config, source_factory, rest_socket=rest_socket, signals=signals,
                on_ready=on_ready,
            )
        )
