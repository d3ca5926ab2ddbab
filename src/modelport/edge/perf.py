"""Size on disk and predict latency (1 row, 32 rows) of a loaded runtime."""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from modelport.edge.sample import Sample
from modelport.runtimes.base import Array, Batch, Runtime

__all__ = ["latency_ms", "measure", "predict_all"]

REPEATS = 30
CHUNK = 1024


def latency_ms(runtime: Runtime, batch: Batch, repeats: int = REPEATS) -> float:
    """Median wall time of ``predict(batch)`` in milliseconds, after three warm-up calls
    (TorchScript's profiling executor re-optimises during its first calls)."""
    for _ in range(3):
        runtime.predict(batch)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        runtime.predict(batch)
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def measure(runtime: Runtime, sample: Sample, size: int) -> dict[str, Any]:
    """``{"size_bytes", "latency_ms_1", "latency_ms_32"}`` for one model."""
    return {
        "size_bytes": size,
        "latency_ms_1": round(latency_ms(runtime, sample.head(1)), 4),
        "latency_ms_32": round(latency_ms(runtime, sample.head(32)), 4),
    }


def predict_all(runtime: Runtime, sample: Sample) -> dict[str, Array]:
    """Predict every sample row, in chunks, outputs joined in row order."""
    parts: list[dict[str, Array]] = []
    for start in range(0, sample.rows, CHUNK):
        chunk = {k: v[start:start + CHUNK] for k, v in sample.inputs.items()}
        parts.append(runtime.predict(chunk))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
