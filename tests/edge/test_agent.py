"""The OTA agent against a real server, in child processes: verified updates served locally,
rollback of a failing version, refusal of a wrong signature and of altered bytes, a server
outage, and kill -9 at random points of downloads and swaps never leaving half a model."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from modelport.config import RegistrySettings
from modelport.edge.fleet import Fleet
from modelport.registry import Registry
from modelport.security.signing import generate_signing_key
from tests.edge.ota_env import (
    current_version,
    local_health,
    local_predict,
    onnx_model,
    register,
    run_agent_once,
    set_alias,
    start_agent,
    wait_for,
)
from tests.serving.server_process import ServerProcess, free_port


class Env:
    def __init__(self, home: Path, server: ServerProcess, pub: Path) -> None:
        self.home, self.server, self.pub, self.url = home, server, pub, server.url


def _build(home: Path) -> Path:
    home.mkdir(parents=True)
    key, pub = home / "key.pem", home / "key.pub.pem"
    generate_signing_key(key, pub)
    other, other_pub = home / "other.pem", home / "other.pub.pem"
    generate_signing_key(other, other_pub)
    files = home / "files"
    files.mkdir()
    assert register(home, onnx_model(files / "v1.onnx", 1.0), key, alias="edge") == 1
    assert register(home, onnx_model(files / "v2.onnx", 2.0), key) == 2
    assert register(home, onnx_model(files / "v3.onnx", 3.0), other) == 3  # wrong key
    assert register(home, onnx_model(files / "v4.onnx", 4.0, batch=5), key) == 4  # 5 rows only
    for version in (5, 6):  # 2 MB each, for downloads long enough to be killed
        big = onnx_model(files / f"v{version}.onnx", float(version), pad_floats=500_000)
        assert register(home, big, key) == version
    return pub


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    home = tmp_path_factory.mktemp("ota") / "home"
    pub = _build(home)
    server = ServerProcess(home, ["m", "--no-grpc"], workers=1)
    try:
        server.wait_ready()
        yield Env(home, server, pub)
    finally:
        server.stop()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_update_local_serving_rollback_and_wrong_signature(env: Env, tmp_path: Path) -> None:
    set_alias(env.home, 1)
    port = free_port()
    device = tmp_path / "device"
    agent = start_agent(env.url, device, env.pub, "--interval", "0.3", "--health-failures", "2",
                        "--listen", f"127.0.0.1:{port}")
    try:
        wait_for(lambda: (local_health(port) or {}).get("version") == 1, what="version 1")
        answer = local_predict(port, [[1.0, 1.0]]).json()
        assert answer == {"version": 1, "outputs": {"y": [[3.0]]}}

        set_alias(env.home, 2)
        wait_for(lambda: (local_health(port) or {}).get("version") == 2, what="version 2")
        assert local_predict(port, [[1.0, 1.0]]).json()["outputs"] == {"y": [[6.0]]}
        assert current_version(device) == 2
        assert (device / "previous").resolve().name.startswith("v1-")

        def seen() -> bool:
            with Registry.open(RegistrySettings(home=env.home)) as registry:
                devices = Fleet(registry).devices("m")
            return bool(devices) and devices[0].version == 2 and devices[0].device_id == "dev-1"

        wait_for(seen, what="the heartbeat of version 2")

        # Version 4 passes its 5 reference rows but fails every real request: rolled back.
        set_alias(env.home, 4)
        wait_for(lambda: (local_health(port) or {}).get("version") == 4, what="version 4")
        for _ in range(2):
            assert local_predict(port, [[1.0, 1.0]]).status_code == 400
        health = wait_for(lambda: (h := local_health(port)) and h["version"] == 2 and h,
                          what="the rollback")
        assert "rolled back from version 4" in health["last_error"]
        assert current_version(device) == 2
        refused = json.loads((device / "refused.json").read_text())
        assert any(k.startswith("4-") and "rolled back" in v for k, v in refused.items())
        time.sleep(1.0)
        assert (local_health(port) or {}).get("version") == 2, "a rolled-back version stays out"

        # Version 3 is signed by another key: refused before any byte is downloaded.
        set_alias(env.home, 3)
        health = wait_for(lambda: (h := local_health(port)) and "signature" in
                          (h["last_error"] or "") and h, what="the signature refusal")
        assert health["version"] == 2
        assert not list((device / "tmp").glob("*.part"))
        assert local_predict(port, [[1.0, 0.0]]).json()["outputs"] == {"y": [[2.0]]}
    finally:
        _stop(agent)


class _TamperingProxy(ThreadingHTTPServer):
    """Forwards to the server, flipping one byte of every artifact it passes on."""

    def __init__(self, upstream: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = httpx.request(self.command, upstream + self.path, headers=headers,
                                       content=body)
                data = bytearray(answer.content)
                if self.path.endswith("/artifact") and data:
                    data[len(data) // 2] ^= 0xFF
                self.send_response(answer.status_code)
                for key in ("content-type", "etag", "content-range"):
                    if key in answer.headers:
                        self.send_header(key, answer.headers[key])
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(bytes(data))

            do_GET = do_POST = _forward

        super().__init__(("127.0.0.1", 0), Handler)


def test_altered_bytes_are_refused(env: Env, tmp_path: Path) -> None:
    set_alias(env.home, 2)
    time.sleep(1.1)  # the server's alias cache
    proxy = _TamperingProxy(env.url)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        device = tmp_path / "device"
        out = run_agent_once(f"http://127.0.0.1:{proxy.server_address[1]}", device, env.pub)
        assert "altered in transit" in out
        assert current_version(device) is None
        assert not list((device / "tmp").glob("*.part")), "altered bytes are thrown away"
    finally:
        proxy.shutdown()
    run_agent_once(env.url, device, env.pub)  # the same version, straight from the server
    assert current_version(device) == 2


def test_kill_during_downloads_never_leaves_half_a_model(env: Env, tmp_path: Path) -> None:
    device = tmp_path / "device"
    set_alias(env.home, 1)
    time.sleep(1.1)
    run_agent_once(env.url, device, env.pub)
    assert current_version(device) == 1
    rng = random.Random(15)
    during_download = 0
    for _ in range(20):
        now = current_version(device)
        set_alias(env.home, 5 if now != 5 else 6)
        agent = start_agent(env.url, device, env.pub, "--interval", "0.2", "--max-rate", "4e6")
        wait_for(lambda: list((device / "tmp").glob("*.part")), timeout_s=20,
                 what="the download to start")
        time.sleep(rng.uniform(0.0, 0.45))  # 2 MB at 4 MB/s: about 0.5 s in all
        during_download += bool(list((device / "tmp").glob("*.part")))
        agent.kill()  # SIGKILL: no cleanup of any kind
        agent.wait()
        assert current_version(device) in (1, 5, 6)
    print(f"{during_download} of 20 kills landed in a download")
    assert during_download >= 10, f"only {during_download} kills landed in a download"
    set_alias(env.home, 6)
    time.sleep(1.1)
    run_agent_once(env.url, device, env.pub)
    assert current_version(device) == 6


SWAPPER = textwrap.dedent('''
    import json, shutil, sys
    from pathlib import Path
    from modelport.edge.agent_store import AgentStore
    from modelport.edge.runner import file_sha256
    root, source = Path(sys.argv[1]), Path(sys.argv[2])
    store = AgentStore(root)
    store.clean()
    sha = file_sha256(source)
    version = int(sys.argv[3])
    while True:  # install a new version folder and swap to it, until killed
        version += 1
        part = store.part_file(sha)
        shutil.copyfile(source, part)
        manifest = {"model": "m", "version": version, "sha256": sha, "artifact": "model.onnx",
                    "schema": {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}],
                               "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}]},
                    "reference": {"inputs": {"x": [[1.0, 1.0]]}, "outputs": {"y": [[3.0]]}}}
        store.swap(store.install(part, manifest))
        if version % 5 == 0:
            store.clean()
''')


def test_kill_during_swaps_never_leaves_half_a_model(tmp_path: Path) -> None:
    source = onnx_model(tmp_path / "m.onnx", 1.0)
    device = tmp_path / "device"
    rng = random.Random(7)
    start, last, moved = 0, 0, 0
    for _ in range(50):
        child = subprocess.Popen([sys.executable, "-c", SWAPPER, str(device), str(source),
                                  str(start)])
        wait_for(lambda s=start: _linked_version(device) > s, timeout_s=20, what="swapping")
        time.sleep(rng.uniform(0.0, 0.2))
        child.kill()  # SIGKILL at a random point of install + swap
        child.wait()
        seen = current_version(device) or 0  # asserts a whole model whenever there is one
        assert seen >= last, "current never goes back to an older folder"
        moved += seen > last
        last = seen
        start = max(start, seen) + 1000  # the next child writes fresh version folders
    assert moved == 50, f"only {moved} of 50 kills landed after swapping had started"
    assert len(list((device / "versions").iterdir())) < 200


def _linked_version(device: Path) -> int:
    """The version in the name of the folder ``current`` points at (cheap, no loading)."""
    try:
        return int(os.readlink(device / "current").split("/v")[-1].split("-")[0])
    except (OSError, ValueError):
        return -1


def test_server_outage_keeps_the_device_serving(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pub = _build_small(home)
    server = ServerProcess(home, ["m", "--no-grpc"], workers=1)
    port = free_port()
    device = tmp_path / "device"
    agent = None
    try:
        server.wait_ready()
        agent = start_agent(server.url, device, pub, "--interval", "0.3",
                            "--listen", f"127.0.0.1:{port}")
        wait_for(lambda: (local_health(port) or {}).get("version") == 1, what="version 1")
        server.stop()
        health = wait_for(lambda: (h := local_health(port)) and "cannot reach" in
                          (h["last_error"] or "") and h, what="the outage to be noticed")
        assert health["version"] == 1
        for _ in range(3):
            assert local_predict(port, [[2.0, 1.0]]).json()["outputs"] == {"y": [[4.0]]}
            time.sleep(0.3)
    finally:
        if agent is not None:
            _stop(agent)
        server.stop()
    shutil.rmtree(home, ignore_errors=True)


def _build_small(home: Path) -> Path:
    home.mkdir(parents=True)
    key, pub = home / "key.pem", home / "key.pub.pem"
    generate_signing_key(key, pub)
    register(home, onnx_model(home / "v1.onnx", 1.0), key, alias="edge")
    return pub
