"""The results page: the answer checks, the REST table with ratios, the fixed-rate, gRPC and
batching figures, and issue 13's targets (targets.py)."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

import launches as L
import servers as S
import targets as T

_DISTS = {
    "floor": ("floor", "uvicorn"),
    "floor-granian": ("floor", "granian"),
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
    extra = "" if key.startswith("floor") else f", xgboost {xgb}"
    uv = "" if dist in ("uvicorn", "granian") else f", uvicorn {S.version_of(py, 'uvicorn')}"
    return f"{dist} {S.version_of(py, dist)}{extra}{uv}"


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


def _spread(r: Any) -> str:
    return f"{r.low:,.0f}-{r.high:,.0f}" if r.rounds > 1 else "1 round"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _err(r: Any) -> str:
    return f"{r.errors} ({_cell(r.detail)})" if r.errors else "0"


def _header(f: dict[str, Any]) -> list[str]:
    load, cpus = f["load"], f.get("load_cpus") or []
    pin = (
        f"the load generators (wrk, hey, the Python gRPC client) run under `taskset -c"
        f" {','.join(map(str, cpus))}` (pinned to core(s) {', '.join(map(str, cpus))}); the"
        " servers are not pinned and share every core with them"
        if cpus
        else "the load generators are not pinned (one core)"
    )
    rate, rate_workers, rate_s = f.get("rate") or [2000, 20, f["duration"]]
    return [
        "# Serving benchmark: results",
        "",
        f"- **Command:** `{f['command']}`",
        f"- **Date:** {f['started']:%Y-%m-%d %H:%M} UTC",
        f"- **Machine:** {os.cpu_count()} cores ({_cpu()}, {f['machine']}); {pin}; other work"
        f" on the machine may share the cores too: load average {load[0][0]:.1f} at the start,"
        f" {load[1][0]:.1f} at the end.",
        f"- **Setup:** {f['workers']} worker processes for every server; {f['duration']:g} s per"
        f" run after a 1 s warm-up; {f['repeat']} interleaved round(s) (every server at one"
        " connection count, then the next; then the fixed-rate runs; then gRPC); every figure is"
        " the **median over the rounds**, with the lowest and highest requests/s as the spread;"
        " every server stays up for the whole run; keep-alive connections;"
        f" OMP_NUM_THREADS={f['omp']} for every server (cores / workers).",
        f"- **Requests:** one row per request; wrk cycles through {f.get('bodies', 1000):,}"
        " different rows of the training data (the same rows, in the same order, for every"
        " server, each in its own request format), so no server can win by caching; modelport"
        " runs with its prediction cache off (`--cache-size 0`, its default). The fixed-rate"
        f" runs use `hey -z {rate_s:g}s -c {rate_workers} -q {rate // rate_workers}` ="
        f" {rate:,} req/s offered, and hey sends **one body** (the first row) on every request.",
        "- **Correctness:** before its load, every server with a model is sent checked rows and"
        " must answer each with XGBoost's own probability (`Booster.inplace_predict` on"
        ' float32, within 1e-5), else it is a "failed: wrong answer" row (below).',
        f"- **One single-row XGBoost predict** (`Booster.inplace_predict`, 30 FP32 features, 200"
        f" trees): {f['predict_ms']:.3f} ms (median, measured in this run).",
    ]


def _checks(checks: dict[str, str]) -> list[str]:
    if not checks:
        return []
    out = ["", "## Answers checked against XGBoost (before the load)", ""]
    out += ["| server | check |", "|---|---|"]
    return out + [f"| {name} | {_cell(text)} |" for name, text in checks.items()]


def _rest(rest: list[Any]) -> list[str]:
    ok = [r for r in rest if not r.failed]
    conns = sorted({r.connections for r in ok})
    floors = {c: T.fastest_floor(ok, c) for c in conns}
    named = ", ".join(f"{c}: {fl.server}" for c, fl in floors.items() if fl) or "none measured"
    out = [
        "",
        "## REST (wrk, rows cycled)",
        "",
        "Ratios compare the median requests/s with MLServer's best setting and with the fastest"
        f" bare floor at the same number of connections (fastest floor by connections: {named}).",
        "Server CPU is the CPU time of all the server's processes during the run divided by the"
        " requests answered: unlike requests/s, it hardly depends on what else the machine is"
        " doing.",
        "",
        "| server | conns | req/s | spread (min-max) | p50 ms | p99 ms | errors"
        " | server CPU ms/req | x MLServer best | x fastest floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rest:
        if r.failed:
            out.append(f"| {r.server} | {r.connections or '-'} | failed: {_cell(r.failed)} |")
            continue
        ml, fl = T.mlserver_best(ok, r.connections), floors.get(r.connections)
        out.append(
            f"| {r.server} | {r.connections} | {r.rps:,.0f} | {_spread(r)} | {r.p50_ms:.2f} |"
            f" {r.p99_ms:.2f} | {_err(r)} | {r.cpu_ms:.3f} | {_ratio(r.rps, ml and ml.rps)} |"
            f" {_ratio(r.rps, fl and fl.rps)} |"
        )
    return out


def _rate(rows: list[Any], f: dict[str, Any]) -> list[str]:
    if not rows:
        return []
    rate = (f.get("rate") or [2000])[0]
    out = [
        "",
        f"## Fixed offered rate: {rate:,} req/s (hey, one body)",
        "",
        "hey's latencies are per request from send to answer, at 0.1 ms resolution; a server"
        " that cannot answer the offered rate makes hey's workers wait, so the answered rate"
        " is shown beside them.",
        "",
        "| server | answered req/s | spread (min-max) | p50 ms | p99 ms | errors"
        " | server CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r.failed:
            out.append(f"| {r.server} | failed: {_cell(r.failed)} |")
            continue
        out.append(
            f"| {r.server} | {r.rps:,.0f} | {_spread(r)} | {r.p50_ms:.2f} | {r.p99_ms:.2f} |"
            f" {_err(r)} | {r.cpu_ms:.3f} |"
        )
    return out


def _grpc(rows: list[Any]) -> list[str]:
    if not rows:
        return []
    ok = [r for r in rows if not r.failed]
    out = [
        "",
        "## gRPC (Python asyncio load generator, `grpc_load.py`, rows cycled)",
        "",
        "A Python client is much slower than wrk, so compare these rows only with each other.",
        "",
        "| server | streams | req/s | spread (min-max) | p50 ms | p99 ms | errors"
        " | server CPU ms/req | x MLServer gRPC best |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r.failed:
            out.append(f"| {r.server} | {r.connections} | failed: {_cell(r.failed)} |")
            continue
        ml = T.mlserver_best(ok, r.connections)
        out.append(
            f"| {r.server} | {r.connections} | {r.rps:,.0f} | {_spread(r)} | {r.p50_ms:.2f} |"
            f" {r.p99_ms:.2f} | {_err(r)} | {r.cpu_ms:.3f} | {_ratio(r.rps, ml and ml.rps)} |"
        )
    return out


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
            f" {a.p99_ms:.2f} | {b.p99_ms:.2f} | {a.cpu_ms:.3f} | {b.cpu_ms:.3f} |"
        )
    return out


def _targets(rows: list[Any], f: dict[str, Any]) -> list[str]:
    ok = [r for r in rows if not r.failed]
    rest = [r for r in ok if r.transport == "REST"]
    grpc64 = [r for r in ok if r.transport == "gRPC" and r.connections == 64]
    offered = float((f.get("rate") or [2000])[0])
    out = ["", "## Targets of issue 13 (medians of this run)"]
    for server, label in (
        ("modelport", "`modelport serve` with its defaults"),
        ("modelport (lean)", "modelport with " + " ".join(f"`{x}`" for x in L.LEAN_FLAGS)),
    ):
        mine = {r.connections: r for r in rest if r.server == server}
        if not mine:
            continue
        figures = T.Figures(
            rest=mine,
            all_rest=rest,
            rate=next(
                (r for r in ok if r.transport == "REST fixed rate" and r.server == server), None
            ),
            grpc64=next((r for r in grpc64 if r.server == server), None),
            ml_grpc64=T.mlserver_best(grpc64, 64),
            predict_ms=f["predict_ms"],
            offered=offered,
            floor_rate=max(
                (r.rps for r in ok if r.transport == "REST fixed rate" and "floor" in r.server),
                default=0.0,
            ),
        )
        out += ["", f"{label}:", "", *T.check(figures)]
    return out


def render(**f: Any) -> str:
    """The page, from a run's facts (run.py's ``facts``, rows as ``measure.Row``)."""
    rows: list[Any] = f["rows"]
    rest = [r for r in rows if r.transport == "REST"]
    lines = _header(f) + _checks(f.get("checks") or {}) + _rest(rest)
    lines += _rate([r for r in rows if r.transport == "REST fixed rate"], f)
    lines += _grpc([r for r in rows if r.transport == "gRPC"])
    lines += _batching([r for r in rest if not r.failed]) + _targets(rows, f)
    lines += ["", "## Versions", "", *(f"- {name}: {v}" for name, v in f["versions"].items())]
    return "\n".join(lines) + "\n"
