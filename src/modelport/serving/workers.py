"""The supervisor: holds the ports, keeps N worker processes alive, drains them on SIGTERM.

Workers inherit the supervisor's listening REST socket and bind the gRPC port themselves with
SO_REUSEPORT (see :mod:`modelport.serving.ports`): a worker that dies never closes a port, and
its replacement starts accepting once its models are loaded. Each worker reports on a pipe
when it accepts requests, so the log says when the whole server is ready.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import tempfile
import time
from dataclasses import replace
from multiprocessing.process import BaseProcess
from types import FrameType

from modelport.monitoring.metrics import (
    enable_multiprocess,
    mark_worker_dead,
    restore_multiprocess,
)
from modelport.serving.options import ServeConfig
from modelport.serving.ports import listen_tcp, reserve_port
from modelport.serving.worker import SourceFactory, run_worker

__all__ = ["Supervisor", "serve"]

log = logging.getLogger(__name__)

#: A worker that exits this soon after starting counts as a crash at start-up.
_QUICK_DEATH_S = 5.0
_MAX_QUICK_DEATHS = 5


def serve(config: ServeConfig, source_factory: SourceFactory) -> int:
    """Run the server until SIGTERM or SIGINT; the exit status to return to the shell."""
    return Supervisor(config, source_factory).run()


class Supervisor:
    """Starts ``config.workers`` processes and replaces any that dies until told to stop."""

    def __init__(self, config: ServeConfig, source_factory: SourceFactory) -> None:
        self.config = config
        self._factory = source_factory
        self._stopping = False
        self._workers: dict[int, tuple[BaseProcess, float]] = {}
        self._context = multiprocessing.get_context("fork")
        self._ready: set[int] = set()

    @property
    def worker_pids(self) -> list[int]:
        return [p.pid for p, _ in self._workers.values() if p.pid is not None]

    def stop(self) -> None:
        """Ask the run loop to drain the workers and return (what SIGTERM does)."""
        self._stopping = True

    def run(self) -> int:
        host = self.config.host
        held = [listen_tcp(host, self.config.port)]
        config = replace(self.config, port=held[0].getsockname()[1])
        try:
            if config.grpc_port is not None:
                held.append(
                    reserve_port(host, config.grpc_port, what="gRPC", option="--grpc-port")
                )
                config = replace(config, grpc_port=held[1].getsockname()[1])
            previous = {
                sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
            }
            # Workers write their metrics to files in a fresh folder; any of them serves the
            # sum at GET /metrics (prometheus_client multiprocess mode).
            metrics_dir = tempfile.mkdtemp(prefix="modelport-metrics-")
            multiproc_before = enable_multiprocess(metrics_dir)
            try:
                return self._supervise(config, held[0])
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
                restore_multiprocess(multiproc_before)
                shutil.rmtree(metrics_dir, ignore_errors=True)
        finally:
            for sock in held:
                sock.close()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _supervise(self, config: ServeConfig, rest: socket.socket) -> int:
        ready_read, ready_write = os.pipe()
        try:
            return self._watch(config, rest, ready_read, ready_write)
        finally:
            os.close(ready_read)
            os.close(ready_write)

    def _watch(self, config: ServeConfig, rest: socket.socket, ready_read: int,
               ready_write: int) -> int:
        for slot in range(config.workers):
            self._start(slot, config, rest, ready_write)
        grpc = f", gRPC on {config.host}:{config.grpc_port}" if config.grpc_port else ""
        log.info(
            "modelport starting REST on http://%s:%s%s with %d worker(s)",
            config.host, config.port, grpc, config.workers,
        )
        quick_deaths = 0
        while not self._stopping:
            sentinels = [p.sentinel for p, _ in self._workers.values()]
            woke = multiprocessing.connection.wait([*sentinels, ready_read], timeout=0.5)
            if ready_read in woke:
                self._note_ready(os.read(ready_read, 4096))
            for slot, (proc, started) in list(self._workers.items()):
                if proc.is_alive() or self._stopping:
                    continue
                proc.join()
                if proc.pid is not None:
                    mark_worker_dead(proc.pid)  # its in-flight and queue gauges go
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
                self._start(slot, config, rest, ready_write)
        log.info("modelport stopping: draining %d worker(s) (up to %.0f s)",
                 len(self._workers), self.config.drain_timeout_s)
        self._drain()
        log.info("modelport stopped")
        return 0

    def _note_ready(self, data: bytes) -> None:
        alive = set(self.worker_pids)
        for pid in data.split():
            self._ready.add(int(pid))
            self._ready &= alive
            log.info("worker %s ready (%d of %d)", int(pid), len(self._ready), len(alive))

    def _start(self, slot: int, config: ServeConfig, rest: socket.socket, ready: int) -> None:
        proc = self._context.Process(
            target=_worker_main,
            args=(config, self._factory, rest, ready),
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


def _worker_main(
    config: ServeConfig, factory: SourceFactory, rest: socket.socket, ready: int
) -> None:
    # Ctrl-C reaches the whole process group: the supervisor alone decides, via SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # N workers already keep N cores busy: a model's own thread pool (OpenMP in XGBoost,
    # LightGBM, torch) gets the cores per worker, unless the operator chose otherwise.
    cores = max(1, (os.cpu_count() or 1) // config.workers)
    os.environ.setdefault("OMP_NUM_THREADS", str(cores))

    def announce() -> None:
        os.write(ready, b"%d\n" % os.getpid())

    run_worker(config, factory, rest_socket=rest, signals=(signal.SIGTERM,), on_ready=announce)
