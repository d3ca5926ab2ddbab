"""One measurement of one started server (wrk, hey or the gRPC client) and the rounds of them.

Every run is one ``Row``; ``bench`` runs interleaved rounds (every server at one connection
count, then the next; then the fixed-rate runs; then gRPC) and ``median_of`` folds the rounds
of a row into their medians, with the lowest and highest requests/s as the spread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

import launches as L
import servers as S
from loadhey import run_hey
from loadwrk import pinned, run_wrk

__all__ = ["FIXED_RATE", "RATE_WORKERS", "Row", "Up", "bench", "median_of", "say"]

FIXED_RATE = 2000
"""Offered requests/s of the fixed-rate runs (issue 13's p99 target is at this rate)."""
RATE_WORKERS = 20
"""hey workers sharing the fixed rate (each limited to FIXED_RATE / RATE_WORKERS req/s)."""


@dataclass
class Row:
    """One line of a table: a server at a number of connections (or why it has no figures).
    After ``median_of``, every figure is the median over the rounds."""

    server: str
    transport: str
    """"REST" (wrk), "REST fixed rate" (hey; connections = hey workers) or "gRPC"."""
    connections: int
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0
    detail: str = ""
    failed: str = ""
    low: float = 0.0
    """The lowest requests/s over the rounds."""
    high: float = 0.0
    """The highest requests/s over the rounds."""
    cpu_ms: float = 0.0
    """Server CPU time (all its processes) per answered request, in ms."""
    batch: float = 0.0
    """modelport only: mean rows per predict call during the run (from its /metrics)."""
    rounds: int = 1


@dataclass
class Up:
    """A server that started and answered the checked rows correctly (or has no model)."""

    key: str
    launch: S.Launch
    server: S.Running
    script: Path
    """wrk's Lua script, cycling through every row's body."""
    one_body: Path
    """The first row's body alone, for hey (which sends one body)."""


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def measure(up: Up, c: int, args: argparse.Namespace) -> Row:
    """wrk at ``c`` connections: a warm-up, then the timed run with the server's CPU time."""
    name = up.launch.name
    if up.server.proc.poll() is not None:
        return Row(name, "REST", c, failed=f"server exited: {up.server.last_log()}")
    try:
        run_wrk(up.launch.infer_url, up.script, c, args.warmup, args.cpus)
        base = up.launch.infer_url.split("/v2/")[0]
        counted = up.key.startswith("modelport")
        before = L.batch_counters(base) if counted else None
        cpu_before = up.server.cpu_seconds()
        r = run_wrk(up.launch.infer_url, up.script, c, args.duration, args.cpus)
        cpu_ms = 1000 * (up.server.cpu_seconds() - cpu_before) / max(1, r.requests)
        after = L.batch_counters(base) if before else None
        batch = (after[0] - before[0]) / max(1.0, after[1] - before[1]) if before and after else 0.0
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return Row(name, "REST", c, failed=str(exc).replace("\n", " ")[:200])
    rows_per_call = f"  {batch:.1f} rows/predict" if batch else ""
    say(
        f"{name}: {c:>3} conn  {r.rps:9.0f} req/s  p50 {r.p50_ms:7.2f} ms  "
        f"p99 {r.p99_ms:7.2f} ms  CPU {cpu_ms:5.2f} ms/req{rows_per_call}  errors {r.errors}"
        f" {r.error_detail}"
    )
    return Row(
        name, "REST", c, r.rps, r.p50_ms, r.p99_ms, r.errors, r.error_detail, cpu_ms=cpu_ms,
        batch=batch,
    )  # fmt: skip


def measure_rate(up: Up, args: argparse.Namespace) -> Row:
    """hey at the fixed offered rate, one body (hey cannot cycle bodies)."""
    name = up.launch.name
    if up.server.proc.poll() is not None:
        return Row(name, "REST fixed rate", RATE_WORKERS, failed="server exited")
    try:
        cpu_before = up.server.cpu_seconds()
        r = run_hey(
            up.launch.infer_url,
            up.one_body,
            rate=FIXED_RATE,
            workers=RATE_WORKERS,
            duration_s=args.rate_duration,
            cpus=args.cpus,
        )
        cpu_ms = 1000 * (up.server.cpu_seconds() - cpu_before) / max(1, r.requests)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return Row(name, "REST fixed rate", RATE_WORKERS, failed=str(exc)[:200])
    say(
        f"{name}: {FIXED_RATE} req/s offered  {r.rps:7.0f} answered  p50 {r.p50_ms:7.2f} ms  "
        f"p99 {r.p99_ms:7.2f} ms  errors {r.errors} {r.error_detail}"
    )
    return Row(
        name, "REST fixed rate", RATE_WORKERS, r.rps, r.p50_ms, r.p99_ms, r.errors,
        r.error_detail, cpu_ms=cpu_ms,
    )  # fmt: skip


def measure_grpc(up: Up, c: int, args: argparse.Namespace) -> Row:
    """grpc_load.py at ``c`` streams; it checks the answers for the checked rows first."""
    name = up.launch.name
    assert up.launch.grpc_target is not None
    cmd = [
        str(S.REPO_PY),
        str(S.HERE / "grpc_load.py"),
        "--target",
        up.launch.grpc_target,
        "--body",
        up.launch.grpc_body,
        "--rows",
        str(args.rows_file),
        "--concurrency",
        str(c),
        "--duration",
        str(args.duration),
        "--warmup",
        str(args.warmup),
    ]
    cpu_before = up.server.cpu_seconds()
    proc = subprocess.run(
        pinned(cmd, args.cpus), capture_output=True, text=True, timeout=args.duration + 120
    )
    last = (proc.stdout.strip().splitlines() or ["{}"])[-1]
    if proc.returncode == 3:
        return Row(name, "gRPC", c, failed=json.loads(last)["wrong"])
    if proc.returncode != 0:
        why = f"gRPC load failed: {(proc.stderr or proc.stdout).strip()[-200:]}"
        say(f"{name}: gRPC {c} streams: {why}")
        return Row(name, "gRPC", c, failed=why)
    d = json.loads(last)
    cpu_ms = 1000 * (up.server.cpu_seconds() - cpu_before) / max(1, d["requests"])
    say(
        f"{name}: gRPC {c:>3} streams {d['rps']:9.0f} req/s  p50 {d['p50_ms']:7.2f} ms  "
        f"p99 {d['p99_ms']:7.2f} ms  errors {d['errors']} {d['error_detail']}"
    )
    return Row(
        name, "gRPC", c, d["rps"], d["p50_ms"], d["p99_ms"], d["errors"], d["error_detail"],
        cpu_ms=cpu_ms,
    )  # fmt: skip


def median_of(samples: list[Row]) -> Row:
    """The median of every figure over the rounds that ran, the lowest and highest requests/s
    beside it, and every error of every round; a row failed in every round stays failed."""
    good = [r for r in samples if not r.failed]
    if not good:
        return samples[0]

    def med(field: str) -> float:
        return float(statistics.median(getattr(r, field) for r in good))

    rates = [r.rps for r in good]
    failed_rounds = len(samples) - len(good)
    detail = "; ".join(r.detail for r in good if r.detail)
    if failed_rounds:
        detail = "; ".join(filter(None, [f"{failed_rounds} round(s) failed", detail]))
    return replace(
        good[0],
        rps=med("rps"),
        p50_ms=med("p50_ms"),
        p99_ms=med("p99_ms"),
        cpu_ms=med("cpu_ms"),
        batch=med("batch"),
        low=min(rates),
        high=max(rates),
        errors=sum(r.errors for r in good) + failed_rounds,
        detail=detail,
        rounds=len(good),
    )


def _skip(key: str, c: int) -> bool:
    """Extra modelport rows run only where they tell something: one connection never batches;
    the lean and column-form rows are about the 1- and 64-connection targets."""
    return (key == "modelport-nobatch" and c == 1) or (
        key in ("modelport-lean", "modelport-columns") and c == 16
    )


def _mlserver_best(ups: list[Up], samples: dict[tuple[str, str, int], list[Row]]) -> str:
    """The MLServer setting with the most requests/s at 64 connections in the rounds so far."""
    scores = {
        up.key: max((r.rps for r in samples.get((up.key, "REST", 64), [])), default=0.0)
        for up in ups
        if up.key.startswith("mlserver")
    }
    return max(scores, key=lambda k: scores[k]) if scores else ""


def bench(ups: list[Up], args: argparse.Namespace, conns: list[int]) -> list[Row]:
    """Interleaved rounds: every server at one connection count, then the next, so the servers
    compared in one line of the table were measured under the same background load; then the
    fixed-rate runs (modelport, the floors, MLServer's best) and gRPC (modelport, MLServer)."""
    samples: dict[tuple[str, str, int], list[Row]] = {}
    rate_keys: set[str] = set()
    for round_no in range(args.repeat):
        say(f"round {round_no + 1} of {args.repeat}")
        for c in conns:
            for up in ups:
                if not _skip(up.key, c):
                    samples.setdefault((up.key, "REST", c), []).append(measure(up, c, args))
        if not rate_keys:
            rate_keys = {"modelport", "floor", "floor-granian", _mlserver_best(ups, samples)}
        for up in ups:
            if up.key in rate_keys:
                key = (up.key, "REST fixed rate", RATE_WORKERS)
                samples.setdefault(key, []).append(measure_rate(up, args))
        for up in ups:
            if up.launch.grpc_target and (up.key == "modelport" or up.key.startswith("mlserver")):
                for c in (c for c in conns if c in (1, 64)):
                    samples.setdefault((up.key, "gRPC", c), []).append(measure_grpc(up, c, args))
    return [median_of(rows) for rows in samples.values()]
