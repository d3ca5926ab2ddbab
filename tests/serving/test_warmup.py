"""Warm-up before ready: a version runs inferences on its reference sample before it takes
traffic, at start and before a hot swap, so the first real request is not the slow one."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelport.protocol.types import InferenceRequest, Tensor
from modelport.registry import Registry
from modelport.registry.intake import Registration, register_artifact
from modelport.registry.refs import ModelRef
from modelport.runtimes.base import Array, Batch
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.registry_source import RegistrySource
from modelport.serving.source import ResolvedVersion, StaticSource

from .tiny import TABLE, Table

COLD_CALLS, COLD_S = 3, 0.030


class ColdTable(Table):
    """Its first few predict calls are slow, like a runtime's lazy first-call set-up."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def predict(self, inputs: Batch) -> dict[str, Array]:
        self.calls += 1
        if self.calls <= COLD_CALLS:
            time.sleep(COLD_S)
        return super().predict(inputs)


class WarmSource(StaticSource):
    """A static source with a reference sample, as the registry has for most versions."""

    def warm_up_rows(self, version: ResolvedVersion) -> list[dict[str, Any]] | None:
        return [{"amount": 3.0, "count": 2.0}, {"amount": 1.5, "count": 4.0}]


def request() -> InferenceRequest:
    return InferenceRequest(
        inputs=[
            Tensor(name="amount", datatype="FP64", data=np.array([2.0])),
            Tensor(name="count", datatype="FP64", data=np.array([5.0])),
        ]
    )


async def first_after_swap(source: StaticSource) -> tuple[float, float, list[ColdTable]]:
    """Steady p50 on version 1, then the latency of the first request after a swap to 2."""
    runtimes = [ColdTable(), ColdTable()]
    source.add("table", 1, lambda: runtimes[0], signature=TABLE, aliases=("production",))
    source.add("table", 2, lambda: runtimes[1], signature=TABLE)
    plane = DataPlane(ModelManager(source, ManagerConfig(refs=("table@production",))))
    await plane.start(preload=True)
    await plane.models.wait_preloaded()
    try:
        for _ in range(COLD_CALLS):  # version 1 warm either way
            await plane.infer("table", None, request())
        steady = []
        for _ in range(200):
            began = time.perf_counter()
            await plane.infer("table", None, request())
            steady.append(time.perf_counter() - began)
        source.set_alias("table", "production", 2)
        await plane.models.refresh()  # the swap: version 2 answers from here on
        began = time.perf_counter()
        answer = await plane.infer("table", None, request())
        first = time.perf_counter() - began
        assert answer.model_version == "2"
    finally:
        await plane.stop()
    return statistics.median(steady), first, runtimes


async def test_the_first_request_after_a_hot_swap_is_as_fast_as_steady_state() -> None:
    p50, first, runtimes = await first_after_swap(WarmSource())
    assert runtimes[1].calls >= COLD_CALLS + 1, "warm-up must run before the swap"
    # 1.5x a p50 of ~0.1 ms is below this machine's scheduling jitter: allow 2 ms beside it.
    assert first <= max(1.5 * p50, p50 + 0.002), (
        f"first request after the swap {first * 1e3:.2f} ms, steady p50 {p50 * 1e3:.3f} ms"
    )


async def test_without_a_reference_sample_the_first_request_pays_the_cold_start() -> None:
    p50, first, runtimes = await first_after_swap(StaticSource())
    assert runtimes[1].calls == 1 and first >= COLD_S > 10 * p50


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


def test_the_registry_source_warms_up_from_the_reference_sample(
    registry: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import xgboost as xgb

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    frame["label"] = (frame["a"] > 0).astype(int)
    frame.to_csv(tmp_path / "train.csv", index=False)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2, "nthread": 1},
        xgb.DMatrix(frame[["a", "b", "c"]], label=frame["label"]),
        num_boost_round=3,
    )
    booster.save_model(tmp_path / "model.json")
    info = register_artifact(
        registry,
        Registration(
            name="warm",
            artifact=tmp_path / "model.json",
            registered_by="tests",
            train_data=tmp_path / "train.csv",
            alias="production",
        ),
    )
    source = RegistrySource(registry)
    resolved = source.resolve(ModelRef("warm", alias="production"))
    rows = source.warm_up_rows(resolved)
    assert rows is not None and 0 < len(rows) <= 16
    assert set(rows[0]) == {s.name for s in info.signature.inputs}

    async def load() -> str:
        manager = ModelManager(source, ManagerConfig(refs=("warm@production",)))
        await manager.start(preload=True)
        await manager.wait_preloaded()
        version = (await manager.get("warm")).version
        await manager.stop()
        return version

    with caplog.at_level("INFO", logger="modelport.serving.warmup"):
        assert asyncio.run(load()) == "1"
    assert "'warm' version 1 warmed up with 5 inferences" in caplog.text
