"""Explain latency against predict latency, one row per request.

For each tree model (XGBoost, LightGBM, scikit-learn forest and gradient boosting), sends
the same single-row requests with and without ``"explain": true`` and prints p50/p99 of both
and their ratio: in process through ``DataPlane.infer`` (the compute alone), and over HTTP to
a real ``modelport serve`` (one worker, sequential keep-alive requests: what a client sees).
Run: ``python benchmarks/explain/run.py [--n 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from modelport.protocol.types import InferenceRequest, Tensor
from modelport.runtimes.base import LoadOptions, Runtime
from modelport.runtimes.catalog import create_runtime
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.source import StaticSource

FEATURES = 20


def train(folder: Path) -> dict[str, tuple[str, Path]]:
    import lightgbm as lgb
    import skops.io as sio
    import xgboost as xgb
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, FEATURES))
    y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(size=5000) > 0).astype(int)
    out: dict[str, tuple[str, Path]] = {}
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "nthread": 1},
                        xgb.DMatrix(x, label=y), num_boost_round=100)
    booster.save_model(folder / "xgb.json")
    out["xgboost 100x depth 6"] = ("xgboost", folder / "xgb.json")
    lgbm = lgb.train({"objective": "binary", "num_leaves": 31, "verbose": -1, "num_threads": 1},
                     lgb.Dataset(x, y), 100)
    lgbm.save_model(folder / "lgb.txt")
    out["lightgbm 100x 31 leaves"] = ("lightgbm", folder / "lgb.txt")
    forest = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0).fit(x, y)
    sio.dump(forest, folder / "rf.skops")
    out["sklearn forest 100x depth 8"] = ("sklearn", folder / "rf.skops")
    gb = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0).fit(x, y)
    sio.dump(gb, folder / "gb.skops")
    out["sklearn boosting 100x depth 3"] = ("sklearn", folder / "gb.skops")
    return out


def loader(flavor: str, path: Path) -> Any:
    def load() -> Runtime:
        runtime = create_runtime(flavor, LoadOptions(trust_pickle=True))
        runtime.load(path)
        return runtime
    return load


async def timings(plane: DataPlane, name: str, n: int, explain: bool) -> np.ndarray:
    served = await plane.model(name)
    datatype = served.signature.inputs[0].datatype
    dtype = np.float32 if datatype == "FP32" else np.float64
    rng = np.random.default_rng(1)
    out = np.empty(n)
    for i in range(n):
        row = rng.normal(size=FEATURES)
        request = InferenceRequest(
            inputs=[Tensor(name=f"f{j}", datatype=datatype, data=np.array([row[j]], dtype))
                    for j in range(FEATURES)],
            parameters={"explain": True} if explain else {},
        )
        start = time.perf_counter()
        await plane.infer(name, None, request)
        out[i] = (time.perf_counter() - start) * 1e3
    return out


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        models = train(Path(tmp))
        source = StaticSource()
        names = {}
        for i, (label, (flavor, path)) in enumerate(models.items()):
            names[label] = f"m{i}"
            source.add(f"m{i}", 1, loader(flavor, path), platform=flavor)
        config = ManagerConfig(refs=tuple(names.values()))
        manager = ModelManager(source, config)
        plane = DataPlane(manager)
        await plane.start()
        table = Table(title=f"explain vs predict, 1 row per request, {n} requests each (ms)")
        for column in ("model", "predict p50", "predict p99", "explain p50", "explain p99",
                       "p99 ratio"):
            table.add_column(column)
        for label, name in names.items():
            await timings(plane, name, 50, True)  # load, build the explainer, warm up
            predict = await timings(plane, name, n, False)
            explain = await timings(plane, name, n, True)
            p99p, p99e = np.percentile(predict, 99), np.percentile(explain, 99)
            table.add_row(label, f"{np.median(predict):.3f}", f"{p99p:.3f}",
                          f"{np.median(explain):.3f}", f"{p99e:.3f}", f"{p99e / p99p:.1f}x")
        await plane.stop()
        Console().print(table)
        await asyncio.to_thread(over_http, models, names, n)


def over_http(models: dict[str, tuple[str, Path]], names: dict[str, str], n: int) -> None:
    import os
    import socket
    import subprocess
    import sys

    import httpx

    from modelport.config import RegistrySettings
    from modelport.registry import Registry

    home = next(iter(models.values()))[1].parent / "home"
    with Registry.open(RegistrySettings(home=home)) as registry:
        for label, (flavor, path) in models.items():
            runtime = loader(flavor, path)()
            registry.register(names[label], path, flavor=flavor, signature=runtime.signature(),
                              registered_by="bench", trust_pickle=flavor == "sklearn")
    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    port, grpc_port = ports
    serve = [sys.executable, "-m", "modelport.cli.main", "serve", *names.values(), "--preload",
             "--workers", "1", "--port", str(port), "--grpc-port", str(grpc_port),
             "--no-log-requests"]
    proc = subprocess.Popen(serve, env={**os.environ, "MODELPORT_HOME": str(home)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if client.get("/v2/health/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            table = Table(title=f"over HTTP to modelport serve, {n} requests each (ms)")
            for column in ("model", "predict p50", "predict p99", "explain p50", "explain p99",
                           "p99 ratio"):
                table.add_column(column)
            for label, name in names.items():
                http_timings(client, name, 50, True)
                predict = http_timings(client, name, n, False)
                explain = http_timings(client, name, n, True)
                p99p, p99e = np.percentile(predict, 99), np.percentile(explain, 99)
                table.add_row(label, f"{np.median(predict):.3f}", f"{p99p:.3f}",
                              f"{np.median(explain):.3f}", f"{p99e:.3f}", f"{p99e / p99p:.1f}x")
            Console().print(table)
    finally:
        proc.terminate()
        proc.wait(30)


def http_timings(client: Any, name: str, n: int, explain: bool) -> np.ndarray:
    datatype = client.get(f"/v2/models/{name}").json()["inputs"][0]["datatype"]
    rng = np.random.default_rng(1)
    out = np.empty(n)
    for i in range(n):
        row = rng.normal(size=FEATURES)
        body: dict[str, Any] = {"inputs": [
            {"name": f"f{j}", "datatype": datatype, "shape": [1], "data": [row[j]]}
            for j in range(FEATURES)]}
        if explain:
            body["parameters"] = {"explain": True}
        start = time.perf_counter()
        resp = client.post(f"/v2/models/{name}/infer", json=body)
        out[i] = (time.perf_counter() - start) * 1e3
        assert resp.status_code == 200, resp.text
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    asyncio.run(main(parser.parse_args().n))
