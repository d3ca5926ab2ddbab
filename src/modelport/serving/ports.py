"""Ports shared by worker processes through SO_REUSEPORT.

Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads new connections
evenly across workers (one shared accept queue lets the first worker to wake take a whole
burst of connections: 61 of 64 in our measurement). The supervisor holds a bound socket on
each port that never listens: it receives no connections, yet keeps the port ours while
workers come and go.
"""

from __future__ import annotations

import socket

from modelport.errors import Conflict

__all__ = ["listen_shared", "reserve_port"]


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


def listen_shared(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """One worker's listening socket in the port's SO_REUSEPORT group."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise Conflict(f"cannot listen on {host}:{port} ({exc.strerror})") from None
    return sock
