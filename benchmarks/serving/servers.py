"""The servers under test: how to install, start, probe and load each one.

Every competitor lives in its own virtual environment under ``.cache/venvs`` (created once,
reused); modelport runs from the repository's ``.venv`` with a private ``MODELPORT_HOME``.
Each server is started in its own process group so that stopping it stops all its workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
APPS = HERE / "apps"
REPO_PY = ROOT / ".venv" / "bin" / "python"

#: venv name -> (packages to pip install, module that proves the install worked)
VENVS: dict[str, tuple[list[str], str]] = {
    "floor": (["uvicorn[standard]", "granian"], "uvloop, granian"),
    "fastapi": (["fastapi", "uvicorn[standard]", "orjson", "xgboost-cpu==3.2.0"], "fastapi"),
    "mlserver": (["mlserver", "mlserver-xgboost", "uvloop<0.22"], "mlserver_xgboost"),
    "bentoml": (["bentoml", "xgboost-cpu==3.2.0"], "bentoml"),
    "litserve": (["litserve", "xgboost-cpu==3.2.0"], "litserve"),
}


_TAKEN: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now, never handed out twice in one run."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _TAKEN:
            _TAKEN.add(port)
            return port


def ensure_venv(cache: Path, name: str, log: Path) -> Path:
    """The venv's python, installing it on first use; raises RuntimeError saying why not."""
    packages, probe = VENVS[name]
    venv = cache / "venvs" / name
    py = venv / "bin" / "python"
    if py.exists() and _imports(py, probe):
        return py
    print(f"  installing {name}: pip install {' '.join(packages)} (once)", flush=True)
    if not py.exists():
        subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
    with log.open("w") as out:
        rc = subprocess.run(
            [str(py), "-m", "pip", "install", "-q", *packages], stdout=out, stderr=subprocess.STDOUT
        ).returncode
    if rc != 0 or not _imports(py, probe):
        tail = log.read_text().strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"pip install failed: {tail[0][:160]}")
    return py


def _imports(py: Path, module: str) -> bool:
    return subprocess.run([str(py), "-c", f"import {module}"], capture_output=True).returncode == 0


def version_of(py: Path, dist: str) -> str:
    """The installed version of ``dist`` in the venv of ``py`` (from its dist-info folder)."""
    want = dist.lower().replace("-", "_")
    for info in (py.parent.parent / "lib").glob("python3*/site-packages/*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        if name.lower().replace("-", "_") == want:
            return version
    proc = subprocess.run(
        [str(py), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() or "?"


@dataclass
class Launch:
    """Everything needed to start one server and turn a row into its kind of request."""

    name: str
    cmd: list[str]
    ready_url: str
    infer_url: str
    make_body: Callable[[list[float]], bytes]
    cwd: Path = HERE
    env: dict[str, str] = field(default_factory=dict)
    grpc_target: str | None = None
    grpc_body: str = "named"
    startup_s: float = 120.0
    note: str = ""
    model: bool = True
    """False for the floors: they answer a constant, so there is no answer to check."""


class Running:
    """A started server: its own process group, its log, and a clean stop."""

    def __init__(self, launch: Launch, log: Path) -> None:
        self.launch = launch
        self.log = log
        env = {**os.environ, **launch.env}
        self._out = log.open("w")
        self.proc = subprocess.Popen(
            launch.cmd,
            cwd=launch.cwd,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, body: bytes, since: float | None = None) -> None:
        """Poll the readiness URL, then send ``body``; RuntimeError says why it is not up."""
        deadline = (since or time.monotonic()) + self.launch.startup_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with status {self.proc.returncode}: {self.last_log()}")
            if _get_ok(self.launch.ready_url):
                break
            if time.monotonic() > deadline:
                waited = f"{self.launch.startup_s:.0f} s"
                raise RuntimeError(f"not ready after {waited}: {self.last_log()}")
            time.sleep(0.25)
        status, text = post(self.launch.infer_url, body)
        if not 200 <= status < 300:
            raise RuntimeError(f"test request answered {status}: {text[:160]}")

    def members(self) -> dict[int, int]:
        """Every live process of the server (its group, and descendants that left it, as
        BentoML's workers do) with the CPU ticks each has used so far."""
        table = _process_table()
        root = self.proc.pid
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        found = {pid for pid, (_, pgid, _) in table.items() if pgid == root}
        todo = [root]
        while todo:
            pid = todo.pop()
            if pid in table:
                found.add(pid)
            todo.extend(children.get(pid, []))
        return {pid: table[pid][2] for pid in found if pid in table}

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's live processes."""
        return sum(self.members().values()) / os.sysconf("SC_CLK_TCK")

    def last_log(self) -> str:
        self._out.flush()
        lines = [ln for ln in self.log.read_text(errors="replace").splitlines() if ln.strip()]
        return (lines[-1].strip() if lines else "no output")[:200]

    def stop(self) -> None:
        """SIGTERM every process of the server, then SIGKILL whatever is left after 8 s."""
        pids = set(self.members()) | {self.proc.pid}
        for sig, wait_s in ((signal.SIGTERM, 8.0), (signal.SIGKILL, 5.0)):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                self.proc.poll()
                pids = {pid for pid in pids if _alive(pid)}
                if not pids:
                    break
                time.sleep(0.1)
            if not pids:
                break
        self.proc.poll()
        self._out.close()


def _process_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, process group, CPU ticks) for every process, from /proc."""
    table: dict[int, tuple[int, int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command: state, ppid, pgrp, ..., utime (12th), stime (13th)
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), int(fields[11]) + int(fields[12]))
    return table


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _get_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return bool(200 <= r.status < 300)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def post(url: str, body: bytes) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)
