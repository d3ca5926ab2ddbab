"""The results page: one REST table with ratios, the gRPC and batching figures, the targets."""

from __future__ import annotations

import functools
import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import servers as S

_DISTS = {
    "floor": ("floor", "uvicorn"),
    "fastapi": ("fastapi", "fastapi"),
    "mlserver": ("mlserver", "mlserver"),
    "mlserver-inline": ("mlserver", "mlserver"),
    "bentoml": ("bentoml", "bentoml"),
    "litserve": ("litserve", "litserve"),
}


def server_version(key: str) -> str:
    if key.startswith("modelport"):
        return _modelport_version()
    venv, dist = _DISTS[key]
    py = S.HERE / ".cache" / "venvs" / venv / "bin" / "python"
    xgb = S.version_of(py, "xgboost")
    xgb = S.version_of(py, "xgboost-cpu") if xgb == "?" else xgb
    extra = f", xgboost {xgb}" if key != "floor" else ""
    uv = "" if dist == "uvicorn" else f", uvicorn {S.version_of(py, 'uvicorn')}"
    return f"{dist} {S.version_of(py, dist)}{extra}{uv}"


@functools.cache
def _modelport_version() -> str:
    rev = subprocess.run(
        ["git", "-C", str(S.ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(S.ROOT), "status", "--porcelain", "src"], capture_output=True, text=True
    ).stdout.strip()
    state = " plus uncommitted changes in src/" if dirty else ""
    return f"modelport {S.version_of(S.REPO_PY, 'modelport')} (repo at {rev}{state}, .venv)"


@functools.cache
def _modelport_version() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(S.ROOT), *args], capture_output=True, text=True
        ).stdout.strip()

    state = " plus uncommitted changes in src/" if git("status", "--porcelain", "src") else ""
    rev = git("rev-parse", "--short", "HEAD")
    return f"modelport {S.version_of(S.REPO_PY, 'modelport')} (repo at {rev}{state}, .venv)"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}x" if base else "-"


def render(
    *,
    rows: list[Any],
    command: str,
    started: datetime,
    workers: int,
    duration: float,
    repeat: int,
    predict_ms: float,
    omp: str,
    versions: dict[str, str],
    load: tuple[Any, Any],
    machine: str,
) -> str:
    rest = [r for r in rows if r.transport == "REST"]
    grpc = [r for r in rows if r.transport == "gRPC"]
    ok = [r for r in rest if not r.failed]
    floor = {r.connections: r for r in ok if r.server.startswith("floor")}
    ml_best: dict[int, float] = {}
    for r in ok:
        if r.server.startswith("MLServer"):
            ml_best[r.connections] = max(ml_best.get(r.connections, 0.0), r.rps)
    lines = [
        "# Serving benchmark: results",
        "",
        f"- **Command:** `{command}`",
        f"- **Date:** {started:%Y-%m-%d %H:%M} UTC",
        f"- **Machine:** {os.cpu_count()} cores ({_cpu()}, {machine}); the load generators (wrk,"
        " and the Python gRPC client) run on the same cores as the server under test, and other"
        " work on the machine may share them: load average "
        f"{load[0][0]:.1f} at the start, {load[1][0]:.1f} at the end.",
        f"- **Setup:** {workers} worker processes for every server; {duration:g} s per run after"
        f" a 1 s warm-up; {repeat} interleaved round(s) (every server at one connection count,"
        " then the next), each row showing the round with the most requests/s and the lowest"
        " round's requests/s beside it; every server stays up for the whole run; one"
        " single-row request per call (keep-alive connections);"
        f" OMP_NUM_THREADS={omp} for every server (cores / workers, what modelport's workers"
        " set for themselves), so XGBoost's OpenMP pool does not oversubscribe the cores.",
        f"- **One single-row XGBoost predict** (`Booster.inplace_predict`, 30 FP32 features, 200"
        f" trees): {predict_ms:.3f} ms (median, measured in this run).",
        "",
        "## REST (wrk)",
        "",
        "Ratios compare requests/s with MLServer's best setting and with the bare ASGI floor at"
        " the same number of connections.",
        "",
        "Server CPU is the CPU time of all the server's processes during the run divided by the"
        " requests answered: unlike requests/s, it hardly depends on what else the machine is"
        " doing.",
        "",
        "| server | conns | req/s | lowest round | p50 ms | p99 ms | errors | server CPU ms/req"
        " | x MLServer best | x floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rest:
        if r.failed:
            lines.append(
                f"| {r.server} | {r.connections or '-'} | failed: {r.failed} | | | | | | | |"
            )
            continue
        base = floor.get(r.connections)
        err = f"{r.errors} ({r.detail})" if r.errors else "0"
        lines.append(
            f"| {r.server} | {r.connections} | {r.rps:,.0f} | {r.low:,.0f} | {r.p50_ms:.2f} |"
            f" {r.p99_ms:.2f} |"
            f" {err} | {r.cpu_ms:.2f} | {_ratio(r.rps, ml_best.get(r.connections))} |"
            f" {_ratio(r.rps, base.rps if base else None)} |"
        )
    if grpc:
        ml_grpc = {
            r.connections: r.rps for r in grpc if r.server.startswith("MLServer") and not r.failed
        }
        lines += [
            "",
            "## gRPC (Python asyncio load generator, `grpc_load.py`)",
            "",
            "A Python client is much slower than wrk, so compare these rows only with each other.",
            "",
            "| server | streams | req/s | p50 ms | p99 ms | errors | x MLServer gRPC |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in grpc:
            if r.failed:
                lines.append(f"| {r.server} | {r.connections} | failed: {r.failed} | | | | |")
                continue
            lines.append(
                f"| {r.server} | {r.connections} | {r.rps:,.0f} | {r.p50_ms:.2f} |"
                f" {r.p99_ms:.2f} | {r.errors} | {_ratio(r.rps, ml_grpc.get(r.connections))} |"
            )
    lines += _batching(ok) + _targets(ok, floor, ml_best, predict_ms)
    lines += ["", "## Versions", "", *(f"- {name}: {v}" for name, v in versions.items())]
    return "\n".join(lines) + "\n"


def _batching(ok: list[Any]) -> list[str]:
    on = {r.connections: r for r in ok if r.server == "modelport"}
    off = {r.connections: r for r in ok if r.server == "modelport (batching off)"}
    both = sorted(set(on) & set(off))
    if not both:
        return []
    out = [
        "",
        "## Batching on versus off (modelport defaults, REST)",
        "",
        "| conns | on: req/s | rows per predict | off (max batch 1): req/s | on / off |"
        " p99 on ms | p99 off ms | CPU ms/req on | off |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in both:
        a, b = on[c], off[c]
        rows = f"{a.batch:.1f}" if a.batch else "-"
        out.append(
            f"| {c} | {a.rps:,.0f} | {rows} | {b.rps:,.0f} | {_ratio(a.rps, b.rps)} |"
            f" {a.p99_ms:.2f} | {b.p99_ms:.2f} | {a.cpu_ms:.2f} | {b.cpu_ms:.2f} |"
        )
    return out


def _targets(
    ok: list[Any], floor: dict[int, Any], ml_best: dict[int, float], predict_ms: float
) -> list[str]:
    out = ["", "## Targets of issue 3 (REST, 64 connections unless said)"]
    for server, label in (
        ("modelport", "`modelport serve` with its defaults"),
        ("modelport (lean)", "modelport with " + " ".join(f"`{f}`" for f in S.LEAN_FLAGS)),
    ):
        mp = {r.connections: r for r in ok if r.server == server}
        if mp:
            out += ["", f"{label}:", "", *_check(mp, floor, ml_best, predict_ms)]
    return out


def _check(
    mp: dict[int, Any], floor: dict[int, Any], ml_best: dict[int, float], predict_ms: float
) -> list[str]:
    out: list[str] = []

    def mark(good: bool) -> str:
        return "met" if good else "**missed**"

    m = mp.get(64)
    best = max(ml_best.values(), default=0.0)
    if m and best:
        out.append(
            f"- Throughput >= 8x MLServer's best ({best:,.0f} req/s):"
            f" {m.rps:,.0f} req/s = {m.rps / best:.1f}x, {mark(m.rps >= 8 * best)}."
        )
    if m and 64 in floor:
        f = floor[64].rps
        out.append(
            f"- Throughput >= 25% of the floor ({f:,.0f} req/s):"
            f" {100 * m.rps / f:.1f}%, {mark(m.rps >= 0.25 * f)}."
        )
        if floor[64].cpu_ms:
            fc = floor[64].cpu_ms
            out.append(
                f"  - Load-independent view: {m.cpu_ms:.2f} ms of server CPU per request against"
                f" the floor's {fc:.2f} ms ({m.cpu_ms / fc:.1f}x; 25% of the floor's throughput"
                " allows at most 4x)."
            )
    if m:
        out.append(
            f"- p99 <= 3x p50: {m.p99_ms:.2f} ms vs {m.p50_ms:.2f} ms ="
            f" {m.p99_ms / m.p50_ms:.1f}x, {mark(m.p99_ms <= 3 * m.p50_ms)}."
        )
    errors = sum(r.errors for r in mp.values())
    out.append(f"- No errors: {errors} over all its runs, {mark(errors == 0)}.")
    if 1 in mp and 1 in floor:
        limit = 1.5 * floor[1].p50_ms + predict_ms
        out.append(
            f"- p50 at 1 connection <= 1.5x the floor's p50 + one predict"
            f" ({1.5 * floor[1].p50_ms:.3f} + {predict_ms:.3f} = {limit:.3f} ms):"
            f" {mp[1].p50_ms:.3f} ms, {mark(mp[1].p50_ms <= limit)}."
        )
    return out
