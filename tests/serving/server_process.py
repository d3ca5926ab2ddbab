"""A real ``modelport serve`` in a child process, over a registry built in the test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np

from modelport.config import RegistrySettings
from modelport.protocol.signature import Signature
from modelport.registry import Registry

FEATURES = [f"f{i}" for i in range(5)]

SLOW_MODEL = '''
import time

class Slow:
    signature = {
        "inputs": [{"name": "x", "datatype": "FP64", "shape": [-1]}],
        "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1]}],
    }

    def load(self, path):
        pass

    def predict(self, inputs):
        time.sleep(0.8)
        return {"y": inputs["x"] * 2}
'''

_SERVE = "import typer; from modelport.cli.serve_cmd import serve; typer.run(serve)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def build_registry(home: Path) -> None:
    """``fraud`` v1 (alias production) and v2, tiny XGBoost models; ``slow``, a Python model."""
    import xgboost as xgb

    from modelport.runtimes.xgboost_runtime import XGBoostRuntime

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES))).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    with Registry.open(RegistrySettings(home=home)) as registry:
        for version, depth in ((1, 2), (2, 4)):
            booster = xgb.train(
                {"objective": "binary:logistic", "max_depth": depth, "nthread": 1},
                xgb.DMatrix(x, label=y, feature_names=FEATURES),
                num_boost_round=8,
            )
            path = home / f"fraud-{version}.json"
            booster.save_model(str(path))
            runtime = XGBoostRuntime()
            runtime.load(path)
            registry.register(
                "fraud", path, flavor="xgboost", signature=runtime.signature(),
                registered_by="test", alias="production" if version == 1 else None,
            )
        slow = home / "slow.py"
        slow.write_text(SLOW_MODEL)
        sig = Signature.from_dict({
            "inputs": [{"name": "x", "datatype": "FP64", "shape": [-1]}],
            "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1]}],
        })
        registry.register("slow", slow, flavor="python", signature=sig, registered_by="test")


def set_alias(home: Path, version: int) -> None:
    with Registry.open(RegistrySettings(home=home)) as registry:
        registry.set_alias("fraud", "production", version, actor="test")


class ServerProcess:
    """``modelport serve`` with the given arguments; ``stop()`` sends SIGTERM and waits."""

    def __init__(self, home: Path, args: Sequence[str], *, workers: int = 2) -> None:
        self.port = free_port()
        self.grpc_port = free_port()
        env = {**os.environ, "MODELPORT_HOME": str(home)}
        self.log = home / f"server-{self.port}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, *args, "--port", str(self.port),
             "--grpc-port", str(self.grpc_port), "--workers", str(workers)],
            env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers

    def wait_ready(self, timeout_s: float = 60.0, *, times: int = 1) -> None:
        """Until the supervisor logged ``times`` times that every worker accepts requests."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log.read_text()}")
            if self.all_ready_count() >= times:
                assert httpx.get(f"{self.url}/v2/health/ready", timeout=5).status_code == 200
                return
            time.sleep(0.2)
        raise AssertionError(f"server not ready in {timeout_s} s:\n{self.log.read_text()}")

    def all_ready_count(self) -> int:
        """How often the log said every worker was ready (a replacement says it again)."""
        return self.log.read_text().count(f"ready ({self.workers} of {self.workers})")

    def accepted(self) -> int:
        """Connections to the REST port that a worker has accepted (queued ones have no
        process yet)."""
        out = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{self.port} )"],
            capture_output=True, text=True, check=True,
        ).stdout
        return sum(1 for line in out.splitlines() if "pid=" in line)

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()]

    def stop(self, timeout_s: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
