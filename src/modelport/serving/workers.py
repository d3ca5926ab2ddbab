"""The supervisor: holds the ports, keeps N worker processes alive, drains them on SIGTERM.

The REST socket is bound and listening in the supervisor and inherited by every worker
(forked), so a worker that dies never closes the port: the others, and its replacement, keep
accepting from the same queue. gRPC cannot take an inherited socket, so each worker binds
the gRPC port itself with SO_REUSEPORT; the supervisor holds a bound, non-listening
SO_REUSEPORT socket on it so the port stays reserved for us while workers come and go.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import time
from dataclasses import replace
from multiprocessing.process import BaseProcess
from types import FrameType

from modelport.errors import Conflict
from modelport.serving.options import ServeConfig
from modelport.serving.worker import SourceFactory, run_worker

__all__ = ["Supervisor", "bind_rest_socket", "reserve_grpc_port", "serve"]

log = logging.getLogger(__name__)

#: A worker that exits this soon after starting counts as a crash at start-up.
_QUICK_DEATH_S = 5.0
_MAX_QUICK_DEATHS = 5


def serve(config: ServeConfig, source_factory: SourceFactory) -> int:
    """Run the server until SIGTERM or SIGINT; the exit status to return to the shell."""
    return Supervisor(config, source_factory).run()


def bind_rest_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket that every worker accepts on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise Conflict(
            f"cannot listen on {host}:{port} for REST ({exc.strerror}); is another server "
            "running there? Choose another port with --port"
        ) from None
    sock.set_inheritable(True)
    return sock


def reserve_grpc_port(host: str, port: int) -> socket.socket:
    """A bound, never-listening SO_REUSEPORT socket: keeps the gRPC port ours."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Conflict(
            f"cannot bind {host}:{port} for gRPC ({exc.strerror}); choose another port with "
            "--grpc-port, or --no-grpc"
        ) from None
    return sock


class Supervisor:
    """Starts ``config.workers`` processes and replaces any that dies until told to stop."""

    def __init__(self, config: ServeConfig, source_factory: SourceFactory) -> None:
        self.config = config
        self._factory = source_factory
        self._stopping = False
        self._workers: dict[int, tuple[BaseProcess, float]] = {}
        self._context = multiprocessing.get_context("fork")

    @property
    def worker_pids(self) -> list[int]:
        return [p.pid for p, _ in self._workers.values() if p.pid is not None]

    def stop(self) -> None:
        """Ask the run loop to drain the workers and return (what SIGTERM does)."""
        self._stopping = True

    def run(self) -> int:
        rest = bind_rest_socket(self.config.host, self.config.port)
        grpc_hold = None
        config = replace(self.config, port=rest.getsockname()[1])
        try:
            if config.grpc_port is not None:
                grpc_hold = reserve_grpc_port(config.host, config.grpc_port)
                config = replace(config, grpc_port=grpc_hold.getsockname()[1])
            previous = {
                sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
            }
            try:
                return self._supervise(config, rest)
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        finally:
            rest.close()
            if grpc_hold is not None:
                grpc_hold.close()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _supervise(self, config: ServeConfig, rest: socket.socket) -> int:
        for slot in range(config.workers):
            self._start(slot, config, rest)
        grpc = f", gRPC on {config.host}:{config.grpc_port}" if config.grpc_port else ""
        log.warning(
            "modelport serving REST on http://%s:%s%s with %d worker(s)",
            config.host, config.port, grpc, config.workers,
        )
        quick_deaths = 0
        while not self._stopping:
            sentinels = [p.sentinel for p, _ in self._workers.values()]
            multiprocessing.connection.wait(sentinels, timeout=0.5)
            for slot, (proc, started) in list(self._workers.items()):
                if proc.is_alive() or self._stopping:
                    continue
                proc.join()
                lived = time.monotonic() - started
                quick_deaths = quick_deaths + 1 if lived < _QUICK_DEATH_S else 0
                log.error(
                    "worker %s exited with status %s after %.1f s; starting a replacement",
                    proc.pid, proc.exitcode, lived,
                )
                if quick_deaths >= _MAX_QUICK_DEATHS:
                    log.error(
                        "workers keep dying at start-up (%d in a row); stopping. The worker "
                        "log above says why", quick_deaths,
                    )
                    self._drain()
                    return 1
                self._start(slot, config, rest)
        self._drain()
        return 0

    def _start(self, slot: int, config: ServeConfig, rest: socket.socket) -> None:
        proc = self._context.Process(
            target=_worker_main,
            args=(config, self._factory, rest),
            name=f"modelport-worker-{slot}",
            daemon=False,
        )
        proc.start()
        self._workers[slot] = (proc, time.monotonic())

    def _drain(self) -> None:
        """SIGTERM every worker, wait for their drain, then kill what is left."""
        procs = [p for p, _ in self._workers.values()]
        for proc in procs:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.config.drain_timeout_s + 5.0
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                log.error("worker %s did not drain in time; killing it", proc.pid)
                proc.kill()
                proc.join()
        self._workers.clear()


def _worker_main(config: ServeConfig, factory: SourceFactory, rest: socket.socket) -> None:
    # Ctrl-C reaches the whole process group: the supervisor alone decides, via SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # N workers already keep N cores busy: a model's own thread pool (OpenMP in XGBoost,
    # LightGBM, torch) gets the cores per worker, unless the operator chose otherwise.
    cores = max(1, (os.cpu_count() or 1) // config.workers)
    os.environ.setdefault("OMP_NUM_THREADS", str(cores))
    run_worker(config, factory, rest_socket=rest, signals=(signal.SIGTERM,))
