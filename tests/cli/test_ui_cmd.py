"""``modelport ui``: the console alone against a registry, as a real process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from modelport.config import RegistrySettings
from modelport.registry import Registry
from modelport.security.keys import KeyStore
from tests.serving.server_process import free_port

from .conftest import Run


def test_help_and_a_refused_exposed_open_console(run: Run) -> None:
    code, out, _ = run("ui", "--help")
    assert code == 0 and "web console" in out
    code, _, err = run("ui", "--host", "0.0.0.0")
    assert code == 1
    assert "refusing to serve on 0.0.0.0 without authentication" in err


def test_the_console_serves_the_registry_behind_the_login(
    home: Path, tiny_xgb: tuple[Path, Path, object], run: Run
) -> None:
    model, _, _ = tiny_xgb
    assert run("models", "register", str(model), "--name", "fraud")[0] == 0
    with Registry.open(RegistrySettings(home=home)) as registry:
        token = KeyStore(registry.engine).create(name="ops", role="viewer", actor="t").token
    port = free_port()
    log = (home / "ui.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from modelport.cli.main import main; main()", "ui",
         "--port", str(port)], env={**os.environ}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                first = httpx.get(f"{url}/ui/models", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, (home / "ui.log").read_text()
                assert time.monotonic() < deadline, (home / "ui.log").read_text()
                time.sleep(0.2)
        assert first.status_code == 303 and first.headers["location"].startswith("/ui/login")
        assert httpx.get(url).headers["location"] == "/ui/models"
        with httpx.Client(base_url=url) as client:
            page = client.get("/ui/login")
            csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
            assert csrf is not None
            answer = client.post("/ui/login", data={"csrf": csrf.group(1), "token": token})
            assert answer.status_code == 303
            listing = client.get("/ui/models")
            assert listing.status_code == 200 and ">fraud</a>" in listing.text
            traffic = client.get("/ui/traffic")
            assert "modelport serve" in traffic.text  # no server here: no charts, said so
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        log.close()
    assert f"console on http://127.0.0.1:{port}/ui" in (home / "ui.log").read_text()
