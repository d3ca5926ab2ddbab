"""Redis killed (SIGKILL) and restarted mid-stream under a running scorer: no input lost, no
duplicate output, and the scorer says in its log that it retried. A private redis-server on
its own port (append-only file, fsync always, so a kill loses nothing acknowledged)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest
import redis

from ..streaming.conftest import FEATURES, database_url, model_file, registry_env, version

__all__ = ["database_url", "model_file", "registry_env", "version"]  # shared fixtures

N = 20_000
RUN = "from modelport.cli.stream_cmd import app; app(prog_name='modelport stream')"


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("the private redis-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.kill()


def wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path,
             timeout_s: float = 90) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if check():
                return
        except redis.ConnectionError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"the scorer exited before {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


def test_redis_killed_and_restarted_mid_stream_loses_and_duplicates_nothing(
    private_redis: PrivateRedis, registry_env: dict[str, str], version: object, tmp_path: Path
) -> None:
    url = private_redis.url
    client = redis.Redis.from_url(url)
    rows = np.random.default_rng(2).normal(size=(N, len(FEATURES))).round(4).tolist()
    pipe = client.pipeline(transaction=False)
    for row in rows:
        pipe.xadd("tx", {"data": orjson.dumps(dict(zip(FEATURES, row, strict=True)))})
    inputs = pipe.execute()
    log = tmp_path / "scorer.log"
    args = [
        sys.executable, "-c", RUN, "run", "fraud@production",
        "--source", f"{url}?stream=tx&group=scorer", "--sink", f"{url}?stream=scores",
        "--max-batch", "200", "--max-wait-ms", "5", "--consumer", "scorer-1",
    ]  # fmt: skip
    scorer = subprocess.Popen(args, env=registry_env, stdout=subprocess.DEVNULL,
                              stderr=log.open("ab"))  # fmt: skip
    try:
        wait_for("a quarter of the outputs", lambda: client.xlen("scores") >= N // 4, scorer, log)
        private_redis.kill()
        time.sleep(1.0)  # the scorer runs into a dead server for a while
        assert scorer.poll() is None, "the scorer must outlive its broker"
        private_redis.start()
        client = redis.Redis.from_url(url)
        written_after_restart = client.xlen("scores")
        assert written_after_restart < N, "the kill must land mid-stream"

        def finished() -> bool:
            (group,) = client.xinfo_groups("tx")
            return client.xlen("scores") >= N and group["pending"] == 0 and group["lag"] == 0

        wait_for("every output after the restart", finished, scorer, log)
        scorer.send_signal(signal.SIGTERM)
        assert scorer.wait(30) == 0, log.read_text()
    finally:
        if scorer.poll() is None:
            scorer.kill()
    ids = [fields[b"id"] for _, fields in client.xrange("scores", count=N + 1000)]
    assert len(ids) == N, f"{len(ids) - N:+d} outputs against {N} inputs"
    assert sorted(ids) == sorted(inputs)
    assert "retrying in" in log.read_text()
    client.close()
