"""The ports a multi-process server shares.

REST: the supervisor binds and listens once; every worker inherits that socket and accepts
from the one queue. A worker that dies takes nothing with it: connections waiting in the
queue go to the others (per-worker SO_REUSEPORT sockets would reset the connections queued
on the dead worker's socket; we measured that in the kill test).

gRPC: grpcio binds its own sockets, so each worker binds the port with SO_REUSEPORT and the
supervisor holds a bound socket there that never listens: it receives no connections, yet
keeps the port ours while workers come and go.
"""

from __future__ import annotations

import socket

from modelport.errors import Conflict

__all__ = ["listen_tcp", "reserve_port"]


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def reserve_port(host: str, port: int, *, what: str, option: str) -> socket.socket:
    """A bound, never-listening SO_REUSEPORT socket on ``host:port`` (port 0 picks one).

    Binding once without SO_REUSEPORT first makes sure nobody else (a second modelport,
    which would otherwise silently share the port) is there already.
    """
    family = _family(host)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise Conflict(
                f"cannot use {host}:{port} for {what} ({exc.strerror}); is another server "
                f"running there? Choose another port with {option}"
            ) from None
        port = probe.getsockname()[1]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Conflict(f"cannot reserve {host}:{port} for {what} ({exc.strerror})") from None
    return sock


def listen_tcp(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A listening socket for the workers to inherit (port 0 picks one)."""
    try:
        sock = socket.create_server((host, port), family=_family(host), backlog=backlog)
    except OSError as exc:
        raise Conflict(
            f"cannot listen on {host}:{port} for REST ({exc.strerror}); is another server "
            "running there? Choose another port with --port"
        ) from None
    sock.set_inheritable(True)
    return sock
