"""podman for the container tests, the way it works offline on these machines.

Its store, configuration and the base image (``scripts/podman-base.sh``: Debian bookworm's
Python 3.11 made with debootstrap) live in one cache folder that survives test runs, so the
base is built once. runc, not crun (crun fails on this host's cgroups); rlimits at 1024
(the sandbox cannot raise them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from functools import cache
from pathlib import Path

import httpx

from modelport.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("MODELPORT_PODMAN_CACHE", "/var/tmp/modelport-podman"))
BASE = "localhost/modelport-base:bookworm"
SERVER = "localhost/modelport-test-server:1"
"""The ``--no-model`` image (xgboost runtime only, so it shares the fraud image's layers)."""
WHEELHOUSE = CACHE / "wheels"


def environment() -> dict[str, str]:
    """os.environ plus the variables that point podman at the cached store and settings."""
    CACHE.mkdir(parents=True, exist_ok=True)
    for sub in ("root", "runroot", "tmp"):
        (CACHE / sub).mkdir(exist_ok=True)
    storage = CACHE / "storage.conf"
    storage.write_text(f'[storage]\ndriver = "overlay"\ngraphroot = "{CACHE}/root"\n'
                       f'runroot = "{CACHE}/runroot"\n')
    containers = CACHE / "containers.conf"
    containers.write_text(
        '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
        f'[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
        f'image_copy_tmp_dir = "{CACHE}/tmp"\n')
    return {**os.environ, "CONTAINERS_STORAGE_CONF": str(storage),
            "CONTAINERS_CONF": str(containers), "TMPDIR": str(CACHE / "tmp"),
            "MODELPORT_PODMAN_CACHE": str(CACHE)}


@cache
def unavailable() -> str | None:
    """Why podman cannot run here, or None when it can (the base image is made if missing)."""
    if shutil.which("podman") is None or shutil.which("runc") is None:
        return "podman and runc are not installed (scripts/test.sh installs them as root)"
    env = environment()
    done = subprocess.run(["podman", "info"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return f"podman info fails here: {done.stderr.strip()[-300:]}"
    done = subprocess.run(["bash", str(ROOT / "scripts" / "podman-base.sh")], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        return f"the base image could not be made: {(done.stdout + done.stderr)[-300:]}"
    return None


def podman(
    *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], env=environment(), capture_output=True, text=True,
                          check=check, timeout=timeout)



class Container:
    """``podman run -d`` with a read-only root filesystem and published ports (or, with
    ``host_network``, the host's network and serve's ports moved to free ones)."""

    def __init__(
        self, image: str, *args: str, options: tuple[str, ...] = (), host_network: bool = False
    ) -> None:
        self.name = f"modelport-test-{os.getpid()}-{_free_port()}"
        self.port, self.grpc_port = _free_port(), _free_port()
        if host_network:
            network = ["--network", "host"]
            args = (*args, "--port", str(self.port), "--grpc-port", str(self.grpc_port))
        else:
            network = ["-p", f"127.0.0.1:{self.port}:8080",
                       "-p", f"127.0.0.1:{self.grpc_port}:8081"]
        podman("run", "-d", "--name", self.name, "--read-only", *network, *options, image,
               *args)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 90) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            if self.state() != "running":
                raise AssertionError(f"container exited:\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=2).status_code == 200:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"not ready in {timeout_s} s:\n{self.logs()}")

    def state(self) -> str:
        return podman("inspect", "--format", "{{.State.Status}}", self.name).stdout.strip()

    def exit_code(self) -> int:
        return int(podman("inspect", "--format", "{{.State.ExitCode}}", self.name).stdout)

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr

    def remove(self) -> None:
        podman("rm", "--force", "--time", "1", self.name, check=False)




def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def build_image(home: Path, context: Path, *args: str) -> None:
    os.environ["MODELPORT_HOME"] = str(home)
    # --no-reproducible: podman may reuse cached layers, so the second image (same wheels) and
    # later runs take seconds; test_the_model_layer_is_reproducible covers the default.
    code = main(["build", *args, "--base", BASE, "--pull", "never", "--engine", "podman",
                 "--wheelhouse", str(WHEELHOUSE), "--context", str(context), "--overwrite",
                 "--no-reproducible"])
    assert code == 0
