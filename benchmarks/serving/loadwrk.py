"""Drive wrk with a Lua script that POSTs one fixed body, and read back its figures.

The Lua ``done`` hook prints one JSON line (requests, duration, p50/p99 in microseconds and
every error count wrk keeps, non-2xx/3xx answers included), so nothing depends on the layout
of wrk's human-readable summary.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
local f = assert(io.open("{body_path}", "rb"))
wrk.body = f:read("*a")
f:close()

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
    .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles (ms) and every kind of error."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_detail: str


def write_script(folder: Path, name: str, body: bytes, content_type: str) -> Path:
    """A Lua script for wrk that POSTs ``body`` (written next to it) on every request."""
    folder.mkdir(parents=True, exist_ok=True)
    body_path = folder / f"{name}.body"
    body_path.write_bytes(body)
    script = folder / f"{name}.lua"
    script.write_text(_LUA.format(content_type=content_type, body_path=body_path.resolve()))
    return script


def run_wrk(url: str, script: Path, connections: int, duration_s: float) -> WrkResult:
    """Load ``url`` with ``connections`` keep-alive connections for ``duration_s`` seconds."""
    threads = 1 if connections == 1 else 2
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 60)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-300:]}")
    d = json.loads(line[len("WRKJSON ") :])
    kinds = ("connect", "read", "write", "status", "timeout")
    errors = sum(d[k] for k in kinds)
    detail = ", ".join(f"{k} {d[k]}" for k in kinds if d[k])
    return WrkResult(
        requests=d["requests"],
        rps=d["requests"] / (d["duration_us"] / 1e6),
        p50_ms=d["p50_us"] / 1000.0,
        p99_ms=d["p99_us"] / 1000.0,
        errors=errors,
        error_detail=detail,
    )
