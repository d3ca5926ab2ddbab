"""Latency at a fixed offered rate: ``hey`` with a per-worker rate limit, and its figures.

wrk drives a server as fast as it answers, so its latencies grow with the queue it builds;
issue 13's p99 target is at a fixed offered rate instead (2,000 req/s = 20 workers x 100
req/s). ``hey -D`` sends one body file on every request (it cannot cycle rows): servers must
not cache (modelport's prediction cache is off by default and the benchmark passes
``--cache-size 0``). hey times each request from send to answer; a server slower than the
offered rate makes the workers wait, so the achieved rate is reported beside the latencies.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from loadwrk import pinned


@dataclass(frozen=True)
class HeyResult:
    """One rate-limited run: achieved rate, latency percentiles (ms), answers by status."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_detail: str


def parse(text: str) -> HeyResult:
    """Read hey's summary: Requests/sec, the 50% and 99% latency lines (seconds), the status
    code counts and the error lines."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    pct = dict(re.findall(r"^\s+(\d+)% in ([\d.]+) secs", text, re.M))
    statuses = {int(c): int(n) for c, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", text)}
    _, has_errors, error_part = text.partition("Error distribution:")
    failures = (
        [(int(n), msg.strip()) for n, msg in re.findall(r"^\s+\[(\d+)\]\s+(.+)$", error_part, re.M)]
        if has_errors
        else []
    )
    if rate is None or "50" not in pct or "99" not in pct:
        raise RuntimeError(f"hey printed no latency distribution: {text.strip()[-300:]}")
    bad = {c: n for c, n in statuses.items() if not 200 <= c < 300}
    detail = [f"status {c}: {n}" for c, n in sorted(bad.items())]
    detail += [f"{msg[:80]}: {n}" for n, msg in failures]
    return HeyResult(
        requests=sum(statuses.values()),
        rps=float(rate.group(1)),
        p50_ms=1000 * float(pct["50"]),
        p99_ms=1000 * float(pct["99"]),
        errors=sum(bad.values()) + sum(n for n, _ in failures),
        error_detail="; ".join(detail),
    )


def run_hey(
    url: str,
    body: Path,
    *,
    rate: int,
    workers: int,
    duration_s: float,
    cpus: list[int],
) -> HeyResult:
    """Offer ``rate`` req/s (``workers`` each limited to rate / workers) for ``duration_s``."""
    cmd = [
        "hey",
        "-z",
        f"{max(1, round(duration_s))}s",
        "-c",
        str(workers),
        "-q",
        str(rate // workers),
        "-m",
        "POST",
        "-T",
        "application/json",
        "-D",
        str(body),
        url,
    ]
    proc = subprocess.run(
        pinned(cmd, cpus), capture_output=True, text=True, timeout=duration_s + 60
    )
    if proc.returncode != 0:
        raise RuntimeError(f"hey failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-300:]}")
    return parse(proc.stdout)
