"""PostgreSQL stopped under steady load and started again: serving continues from the loaded
model with zero failed requests, a call that needs the registry fails fast with 503 and a clear
message, and once the database is back an alias move is picked up without a server restart.

A private PostgreSQL cluster (initdb in a temporary folder, its own port) is started and
stopped here; the shared test database is never touched."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from modelport.config import RegistrySettings
from modelport.registry import Registry
from modelport.registry.intake import Registration, register_artifact

from ..serving.server_process import FEATURES, ServerProcess, free_port


def _bin() -> Path:
    """Where initdb and pg_ctl are: on PATH, else the newest Debian PostgreSQL package."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                    key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                    else 0)  # fmt: skip
    return debian[-1].parent if debian else Path("/usr/bin")


BIN = _bin()


class PrivatePostgres:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mp-faults-pg-"))
        shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                       capture_output=True, timeout=120)  # fmt: skip

    def init(self) -> None:
        self._as_postgres(str(BIN / "initdb"), "-D", f"{self.dir}/data", "-U", "postgres",
                          "-A", "trust")  # fmt: skip

    def start(self) -> None:
        self._as_postgres(
            str(BIN / "pg_ctl"), "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._as_postgres(str(BIN / "pg_ctl"), "-D", f"{self.dir}/data", "-m", "fast", "-w",
                          "stop")  # fmt: skip


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    if shutil.which("runuser") is None or not (BIN / "initdb").exists():
        pytest.skip("needs PostgreSQL's initdb/pg_ctl and runuser to start a private cluster")
    pg = PrivatePostgres()
    pg.init()
    pg.start()
    yield pg
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        pg.stop()
    shutil.rmtree(pg.dir, ignore_errors=True)


def register(home: Path, url: str) -> None:
    import xgboost as xgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, len(FEATURES))).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    settings = RegistrySettings(home=home, database_url=url)
    with Registry.open(settings) as registry:
        for version in (1, 2):
            booster = xgb.train({"objective": "binary:logistic", "max_depth": version,
                                 "nthread": 1}, xgb.DMatrix(x, label=y, feature_names=FEATURES),
                                num_boost_round=4)  # fmt: skip
            path = home / f"fraud-{version}.json"
            booster.save_model(str(path))
            alias = "production" if version == 1 else None
            register_artifact(registry, Registration(name="fraud", artifact=path,
                                                     registered_by="test", alias=alias))


BODY = {"inputs": [{"name": f, "datatype": "FP32", "shape": [1], "data": [0.3]}
                   for f in FEATURES]}  # fmt: skip


def test_postgres_down_then_back_under_load(postgres: PrivatePostgres, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    register(home, postgres.url)
    os.environ["MODELPORT_DATABASE_URL"] = postgres.url  # inherited by the server process
    try:
        server = ServerProcess(home, ["fraud@production", "--poll-interval", "0.5"], workers=1)
    finally:
        del os.environ["MODELPORT_DATABASE_URL"]
    failures: list[str] = []
    answered = [0]
    versions: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while not stop.is_set():
                r = client.post("/v2/models/fraud/infer", json=BODY)
                if r.status_code == 200:
                    answered[0] += 1
                    versions.append(r.headers["x-model-version"])
                else:
                    failures.append(f"{r.status_code} {r.text}")
                time.sleep(0.005)

    try:
        server.wait_ready()
        worker = threading.Thread(target=load)
        worker.start()
        time.sleep(1.0)
        postgres.stop()
        before = answered[0]
        time.sleep(2.0)  # several alias polls fail meanwhile
        began = time.monotonic()
        pinned = httpx.post(f"{server.url}/v2/models/fraud/versions/2/infer", json=BODY,
                            timeout=30)  # fmt: skip
        refused_in = time.monotonic() - began
        time.sleep(1.0)
        during = answered[0] - before
        postgres.start()
        with Registry.open(RegistrySettings(home=home, database_url=postgres.url)) as registry:
            registry.set_alias("fraud", "production", 2, actor="test")
        deadline = time.monotonic() + 30
        while (not versions or versions[-1] != "2") and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        worker.join(15)
    finally:
        stop.set()
        server.stop()
    assert not failures, failures[:3]
    assert during > 50, "serving must continue while the database is down"
    assert pinned.status_code == 503, pinned.text
    assert "127.0.0.1" in pinned.json()["error"] and refused_in < 5.0
    assert versions[-1] == "2", "the alias move after the restart was not picked up"
