"""First request after a hot swap against the steady p50, with and without warm-up.

A real XGBoost model (200 trees, 30 features) registered with training data, so its version
has a reference sample; served through the model manager and data plane in process. The swap
moves the alias between two registered versions; each row of the table is a fresh process
state for the new version (new booster, first predict).

    PYTHONPATH=src python benchmarks/reliability/warmup_first_request.py
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from rich.console import Console
from rich.table import Table

from modelport.config import RegistrySettings
from modelport.protocol.types import InferenceRequest, Tensor
from modelport.registry import Registry
from modelport.registry.intake import Registration, register_artifact
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.registry_source import RegistrySource

FEATURES = [f"f{i}" for i in range(30)]


class NoWarmUp(RegistrySource):
    def warm_up_rows(self, version):  # type: ignore[no-untyped-def]
        return None


def build(root: Path) -> Registry:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(5000, 30)).astype(np.float32), columns=FEATURES)
    frame["label"] = (frame["f0"] + frame["f1"] > 0).astype(int)
    frame.to_csv(root / "train.csv", index=False)
    registry = Registry.open(RegistrySettings(home=root / "home",
                                              database_url=f"sqlite:///{root / 'r.db'}"))
    for version in (1, 2):
        booster = xgb.train({"max_depth": 6, "nthread": 1, "seed": version},
                            xgb.DMatrix(frame[FEATURES], label=frame["label"]), 200)
        booster.save_model(root / f"m{version}.json")
        register_artifact(registry, Registration(
            name="fraud", artifact=root / f"m{version}.json", registered_by="bench",
            train_data=root / "train.csv", alias="production" if version == 1 else None))
    return registry


def request(rng: np.random.Generator) -> InferenceRequest:
    row = rng.normal(size=30).astype(np.float32)
    return InferenceRequest(inputs=[Tensor(name=f, datatype="FP32", data=row[i:i + 1])
                                    for i, f in enumerate(FEATURES)])


async def once(source: RegistrySource) -> tuple[float, float]:
    registry = source.registry
    registry.set_alias("fraud", "production", 1, actor="bench")
    plane = DataPlane(ModelManager(source, ManagerConfig(refs=("fraud@production",))))
    await plane.start(preload=True)
    await plane.models.wait_preloaded()
    rng = np.random.default_rng(1)
    for _ in range(50):
        await plane.infer("fraud", None, request(rng))
    steady = []
    for _ in range(500):
        began = time.perf_counter()
        await plane.infer("fraud", None, request(rng))
        steady.append(time.perf_counter() - began)
    registry.set_alias("fraud", "production", 2, actor="bench")
    await plane.models.refresh()
    began = time.perf_counter()
    await plane.infer("fraud", None, request(rng))
    first = time.perf_counter() - began
    await plane.stop()
    return statistics.median(steady), first


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        registry = build(Path(tmp))
        table = Table(title="First request after a hot swap (XGBoost, 200 trees, 30 features)")
        for col in ("warm-up", "steady p50 (ms)", "first after swap (ms)", "ratio"):
            table.add_column(col)
        for label, source in (("on", RegistrySource(registry)), ("off", NoWarmUp(registry))):
            for _ in range(3):
                p50, first = asyncio.run(once(source))
                table.add_row(label, f"{p50 * 1e3:.3f}", f"{first * 1e3:.3f}",
                              f"{first / p50:.2f}x")
        Console().print(table)


if __name__ == "__main__":
    main()
