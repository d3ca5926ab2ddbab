"""The supervisor and its workers as real processes: a killed worker is replaced without the
port closing, an alias move is picked up by every worker with no failed request, and SIGTERM
lets in-flight requests finish."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .server_process import FEATURES, ServerProcess, set_alias

BODY = {"inputs": [{"name": n, "datatype": "FP32", "shape": [1], "data": [0.5]} for n in FEATURES]}


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(home, ["fraud@production", "slow", "--preload", "--poll-interval",
                                "0.3"], workers=2)
    try:
        proc.wait_ready()
        yield proc
    finally:
        assert proc.stop() == 0


def infer_version(url: str) -> str:
    """One request on a fresh connection; the version that answered."""
    resp = httpx.post(f"{url}/v2/models/fraud/infer", json=BODY, timeout=10)
    assert resp.status_code == 200, resp.text
    version: str = resp.json()["model_version"]
    return version


def test_a_killed_worker_is_replaced_and_the_port_keeps_answering(
    server: ServerProcess,
) -> None:
    before = server.worker_pids()
    assert len(before) == 2
    os.kill(before[0], signal.SIGKILL)
    for _ in range(30):  # every request on a new connection: the port never closes
        infer_version(server.url)
    server.wait_ready(times=2)  # the replacement reported in
    now = server.worker_pids()
    assert len(now) == 2 and before[0] not in now
    assert before[1] in now
    for _ in range(10):
        infer_version(server.url)


def test_alias_move_reaches_every_worker_with_no_failed_request(
    server: ServerProcess, home: Path
) -> None:
    stop = threading.Event()
    errors: list[str] = []
    seen: list[tuple[float, str]] = []

    def client() -> None:
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                try:
                    resp = http.post(f"{server.url}/v2/models/fraud/infer", json=BODY)
                    if resp.status_code != 200:
                        errors.append(resp.text)
                    else:
                        seen.append((time.monotonic(), resp.json()["model_version"]))
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))

    with ThreadPoolExecutor(4) as pool:
        for _ in range(4):
            pool.submit(client)
        time.sleep(1.0)
        moved_at = time.monotonic()
        set_alias(home, 2)
        time.sleep(5.0)
        stop.set()
    try:
        assert errors == []
        assert {v for t, v in seen if t < moved_at} == {"1"}
        settled = [v for t, v in seen if t > moved_at + 3.0]
        assert settled and set(settled) == {"2"}, "every worker should serve version 2 by now"
        assert all(infer_version(server.url) == "2" for _ in range(10))
    finally:
        set_alias(home, 1)


def test_sigterm_lets_in_flight_requests_finish(home: Path) -> None:
    proc = ServerProcess(home, ["slow", "--preload", "--no-grpc"], workers=1)
    proc.wait_ready()
    body = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [2.0]}]}

    def call() -> httpx.Response:
        return httpx.post(f"{proc.url}/v2/models/slow/infer", json=body, timeout=30)

    with ThreadPoolExecutor(4) as pool:
        calls = [pool.submit(call) for _ in range(4)]
        deadline = time.monotonic() + 20
        while proc.accepted() < 4 and time.monotonic() < deadline:
            time.sleep(0.02)  # until the worker holds all four (each predict sleeps 0.8 s)
        assert not all(c.done() for c in calls), "the requests should still be in flight"
        started = time.monotonic()
        proc.proc.send_signal(signal.SIGTERM)
        answers = [c.result() for c in calls]
    assert [a.status_code for a in answers] == [200] * 4
    assert all(a.json()["outputs"][0]["data"] == [4.0] for a in answers)
    assert proc.proc.wait(30) == 0
    assert time.monotonic() - started < 15
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{proc.url}/v2/health/live", timeout=2)
    # start-up, readiness and shutdown are INFO lines, not warnings
    lines = proc.log.read_text().splitlines()
    for said in ("modelport starting REST", "ready (1 of 1)", "modelport stopping: draining 1",
                 "modelport stopped"):
        [line] = [x for x in lines if said in x]
        assert " INFO modelport.serving.workers: " in line, line
