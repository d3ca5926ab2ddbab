"""Drive wrk with a Lua script that cycles through many request bodies, and read its figures.

The bodies (one JSON document a line, at least 1,000 different rows) are read by every wrk
thread at start and turned into ready-made requests; each request takes the next one, each
thread starting at its own place, so no server sees the same row twice in a row and none can
win by caching. The load generator runs pinned to its own core(s) where the machine has more
than one (``load_cpus``). The Lua ``done`` hook prints one JSON line (requests, duration,
p50/p99 in microseconds and every error count wrk keeps, non-2xx/3xx answers included), so
nothing depends on the layout of wrk's human-readable summary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
local bodies = {{}}
for line in io.lines("{body_path}") do
  if #line > 0 then bodies[#bodies + 1] = line end
end

local threads = 0
setup = function(thread)
  thread:set("thread_no", threads)
  threads = threads + 1
end

local requests_ready = {{}}
local next_no = 0
init = function(args)
  for i, body in ipairs(bodies) do
    requests_ready[i] = wrk.format(nil, nil, nil, body)
  end
  next_no = ((thread_no or 0) * 389) % #requests_ready
end

request = function()
  next_no = next_no % #requests_ready + 1
  return requests_ready[next_no]
end

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


def load_cpus(workers: int) -> list[int]:
    """The cores the load generators get: on 2 cores the last one; on more, those beyond the
    servers' ``workers``; none (no pinning) on one core."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return []
    return cores[max(1, min(workers, len(cores) - 1)) :]


def pinned(cmd: list[str], cpus: list[int]) -> list[str]:
    """``cmd`` run under ``taskset -c`` on ``cpus`` (unchanged when there is nothing to pin)."""
    if not cpus or shutil.which("taskset") is None:
        return cmd
    return ["taskset", "-c", ",".join(map(str, cpus)), *cmd]


def write_script(folder: Path, name: str, bodies: list[bytes], content_type: str) -> Path:
    """A Lua script for wrk that cycles through ``bodies`` (written next to it, one a line)."""
    folder.mkdir(parents=True, exist_ok=True)
    body_path = folder / f"{name}.bodies"
    if any(b"\n" in b for b in bodies):
        raise ValueError("a request body spans lines; wrk's script reads one body a line")
    body_path.write_bytes(b"\n".join(bodies) + b"\n")
    script = folder / f"{name}.lua"
    script.write_text(_LUA.format(content_type=content_type, body_path=body_path.resolve()))
    return script


def run_wrk(
    url: str, script: Path, connections: int, duration_s: float, cpus: list[int] | None = None
) -> WrkResult:
    """Load ``url`` with ``connections`` keep-alive connections for ``duration_s`` seconds,
    wrk pinned to ``cpus``."""
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
    proc = subprocess.run(
        pinned(cmd, cpus or []), capture_output=True, text=True, timeout=duration_s + 60
    )
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
