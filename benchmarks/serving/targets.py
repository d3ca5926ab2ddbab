"""Issue 13's targets, each checked against the run's figures: "met" or "missed", with numbers.

Every figure is a median over the rounds. "The fastest floor" is, at each number of
connections, whichever bare ASGI floor (uvicorn or granian) answered more requests/s there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Figures", "check", "fastest_floor", "mlserver_best"]

RATE_P99_MS = 15.0
"""p99 target at the fixed offered rate (the seed's fraud figure)."""


def fastest_floor(rest: list[Any], conns: int) -> Any | None:
    """The floor row with the most requests/s at ``conns`` connections, or None."""
    floors = [r for r in rest if r.server.startswith("floor") and r.connections == conns]
    return max(floors, key=lambda r: r.rps, default=None)


def mlserver_best(rows: list[Any], conns: int) -> Any | None:
    """The MLServer row (any setting) with the most requests/s at ``conns``, or None."""
    ml = [r for r in rows if r.server.startswith("MLServer") and r.connections == conns]
    return max(ml, key=lambda r: r.rps, default=None)


@dataclass
class Figures:
    """The rows one server's targets are checked with (all without failures)."""

    rest: dict[int, Any]
    """That server's REST rows by connections."""
    all_rest: list[Any]
    rate: Any | None
    """Its fixed-rate (hey) row."""
    grpc64: Any | None
    ml_grpc64: Any | None
    predict_ms: float
    offered: float
    floor_rate: float = 0.0
    """The most req/s hey got from a floor at the offered rate: what the load generator could
    deliver on this machine in this run (0 when no floor ran at the fixed rate)."""


def _mark(good: bool) -> str:
    return "met" if good else "**missed**"


def _throughput(f: Figures) -> list[str]:
    m = f.rest.get(64)
    out: list[str] = []
    ml = mlserver_best(f.all_rest, 64)
    if m and ml:
        out.append(
            f"- req/s at 64 connections >= 8x MLServer's best ({ml.server}, {ml.rps:,.0f}"
            f" req/s): {m.rps:,.0f} req/s = {m.rps / ml.rps:.1f}x, {_mark(m.rps >= 8 * ml.rps)}."
        )
    else:
        out.append("- req/s at 64 connections >= 8x MLServer's best: not measured in this run.")
    fl = fastest_floor(f.all_rest, 64)
    if m and fl:
        out.append(
            f"- req/s at 64 connections >= 25% of the fastest floor ({fl.server}, {fl.rps:,.0f}"
            f" req/s): {100 * m.rps / fl.rps:.1f}%, {_mark(m.rps >= 0.25 * fl.rps)}."
        )
    else:
        out.append("- req/s at 64 connections >= 25% of the fastest floor: not measured.")
    if m and m.p50_ms:
        ratio = m.p99_ms / m.p50_ms
        out.append(
            f"- p99 / p50 at 64 connections <= 3: {m.p99_ms:.2f} / {m.p50_ms:.2f} ms ="
            f" {ratio:.1f}, {_mark(ratio <= 3)}."
        )
    return out


def _latency(f: Figures) -> list[str]:
    out: list[str] = []
    one, fl = f.rest.get(1), fastest_floor(f.all_rest, 1)
    if one and fl:
        limit = 1.5 * (fl.p50_ms + f.predict_ms)
        out.append(
            f"- p50 at 1 connection <= 1.5 x (floor p50 + one single-row predict) = 1.5 x"
            f" ({fl.p50_ms:.3f} ms of {fl.server} + {f.predict_ms:.3f} ms) = {limit:.3f} ms:"
            f" {one.p50_ms:.3f} ms, {_mark(one.p50_ms <= limit)}."
        )
    else:
        out.append("- p50 at 1 connection: not measured (needs the server and a floor at 1).")
    r = f.rate
    if r:
        # A server slower than the offered rate holds hey's workers back: its p99 then no
        # longer describes that rate. What hey reached against a floor bounds what it can offer.
        reachable = min(f.offered, f.floor_rate or f.offered)
        kept_up = r.rps >= 0.95 * reachable
        short = (
            f"; answered {r.rps:,.0f} req/s (hey reached {f.floor_rate:,.0f} against a floor)"
            if f.floor_rate
            else f"; answered {r.rps:,.0f} req/s"
        )
        short += "" if kept_up else ", so it did not keep up with the rate"
        out.append(
            f"- p99 at {f.offered:,.0f} req/s offered (hey) <= {RATE_P99_MS:g} ms:"
            f" {r.p99_ms:.2f} ms (p50 {r.p50_ms:.2f} ms){short},"
            f" {_mark(r.p99_ms <= RATE_P99_MS and kept_up)}."
        )
    else:
        out.append(f"- p99 at {f.offered:,.0f} req/s offered: not measured for this server.")
    return out


def _grpc_and_cpu(f: Figures) -> list[str]:
    out: list[str] = []
    g, mg = f.grpc64, f.ml_grpc64
    if g and mg:
        out.append(
            f"- gRPC, 64 streams, >= 5x MLServer gRPC ({mg.server}, {mg.rps:,.0f} req/s):"
            f" {g.rps:,.0f} req/s = {g.rps / mg.rps:.1f}x, {_mark(g.rps >= 5 * mg.rps)}."
        )
    else:
        out.append("- gRPC, 64 streams, vs MLServer gRPC: not measured for this server.")
    m, fl = f.rest.get(64), fastest_floor(f.all_rest, 64)
    if m and fl and fl.cpu_ms:
        out.append(
            f"- CPU per request at 64 connections <= 3x the fastest floor's ({fl.server},"
            f" {fl.cpu_ms:.3f} ms): {m.cpu_ms:.3f} ms = {m.cpu_ms / fl.cpu_ms:.1f}x,"
            f" {_mark(m.cpu_ms <= 3 * fl.cpu_ms)}."
        )
    errors = sum(r.errors for r in f.rest.values()) + (f.rate.errors if f.rate else 0)
    out.append(f"- No errors: {errors} over all its REST runs, {_mark(errors == 0)}.")
    return out


def check(f: Figures) -> list[str]:
    """One line per target of issue 13's table, plus CPU per request and errors."""
    return _throughput(f) + _latency(f) + _grpc_and_cpu(f)
