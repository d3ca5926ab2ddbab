"""What a pipeline step costs beyond its own work, per request, in process.

    .venv/bin/python benchmarks/pipelines/step_overhead.py [--requests 3000] [--rounds 5]

Two levels, each against a baseline measured in the same run, interleaved, best of
``--rounds``:

1. The runtime: ``predict`` of the model alone vs a one-step pipeline running it (the model
   step's overhead: building its inputs, timing and metrics), and vs model + rules (the rules
   step: its own condition evaluation plus overhead), for 1-row and 64-row batches.
2. The data plane: ``DataPlane.infer`` of 1-row requests to ``fraud`` vs ``fraud-decision``
   (validation, batcher and answer included), the cost a caller sees.

Target: under 0.1 ms per step per request beyond the step's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("OMP_NUM_THREADS", "1")  # one-row XGBoost calls: no thread pool spin

from modelport.config import RegistrySettings
from modelport.pipelines import register_pipeline
from modelport.protocol.types import InferenceRequest, Tensor
from modelport.registry import Registry
from modelport.registry.loader import load_ref
from modelport.serving.batcher import BatchPolicy
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.registry_source import RegistrySource
from modelport.serving.served import ModelOptions
from tests.pipelines.registry_setup import FEATURES, PIPELINE, build

SCORE_ONLY = """\
steps:
  - name: score
    model: fraud@production
outputs: [score.predict_proba]
"""


def best_us(fn: Callable[[], object], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def runtime_level(registry: Registry, n: int, rounds: int) -> list[tuple[str, int, float]]:
    _, model = load_ref(registry, "fraud@production")
    _, one = load_ref(registry, "score-only")
    _, two = load_ref(registry, "fraud-decision")
    out = []
    for rows in (1, 64):
        x = np.random.default_rng(0).normal(size=(rows, len(FEATURES))).astype(np.float32)
        batch = {f: x[:, i].copy() for i, f in enumerate(FEATURES)}
        cases = {"model alone": lambda b=batch: model.predict(b),
                 "pipeline: model step": lambda b=batch: one.predict(b),
                 "pipeline: model + rules": lambda b=batch: two.predict(b)}
        times: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(rounds):
            for name, fn in cases.items():
                times[name].append(best_us(fn, max(n // 8, 50) if rows > 1 else n))
        for name in cases:
            out.append((name, rows, min(times[name])))
    return out


async def plane_level(home: Path, n: int, rounds: int) -> dict[str, float]:
    source = RegistrySource.open(RegistrySettings(home=home))
    options = ModelOptions(batch=BatchPolicy(max_size=1, max_delay_ms=0))
    plane = DataPlane(ModelManager(source, ManagerConfig(
        refs=("fraud@production", "fraud-decision"), options=options, poll_interval_s=0)))
    await plane.start(preload=True)
    await plane.models.wait_preloaded()
    row = np.random.default_rng(1).normal(size=(1, len(FEATURES))).astype(np.float32)
    request = InferenceRequest(inputs=[Tensor(name="input-0", datatype="FP32", data=row)])
    times: dict[str, list[float]] = {"fraud": [], "fraud-decision": []}
    for _ in range(rounds):
        for name in times:
            started = time.perf_counter()
            for _ in range(n):
                await plane.infer(name, None, request)
            times[name].append((time.perf_counter() - started) / n * 1e6)
    await plane.stop()
    source.registry.close()
    return {k: min(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        build(home)
        with Registry.open(RegistrySettings(home=home)) as registry:
            register_pipeline(registry, "score-only", SCORE_ONLY, registered_by="bench")
            register_pipeline(registry, "fraud-decision", PIPELINE, registered_by="bench")
            rows = runtime_level(registry, args.requests, args.rounds)
        plane = asyncio.run(plane_level(home, args.requests, args.rounds))
    print("| level | case | rows/call | µs per call | µs per row | step cost per row (µs) |")
    print("|---|---|---:|---:|---:|---:|")
    base = {r: t for name, r, t in rows if name == "model alone"}
    one = {r: t for name, r, t in rows if name == "pipeline: model step"}
    for name, r, t in rows:
        extra = ""
        if name == "pipeline: model step":
            extra = f"{(t - base[r]) / r:.1f} (model step overhead)"
        elif name == "pipeline: model + rules":
            extra = f"{(t - one[r]) / r:.1f} (rules step, work included)"
        print(f"| runtime | {name} | {r} | {t:.1f} | {t / r:.2f} | {extra} |")
    print(f"| data plane | fraud (model) | 1 | {plane['fraud']:.1f} | {plane['fraud']:.1f} | |")
    diff = plane["fraud-decision"] - plane["fraud"]
    print(f"| data plane | fraud-decision (model + rules) | 1 | {plane['fraud-decision']:.1f} | "
          f"{plane['fraud-decision']:.1f} | {diff / 2:.1f} per step ({diff:.1f} for 2) |")
    print(f"\nbest of {args.rounds} interleaved rounds of {args.requests} calls "
          f"(OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})")


if __name__ == "__main__":
    main()
