"""Warm-up: a freshly loaded version answers a few inferences before it takes traffic.

The first predict calls of a runtime pay one-off costs (lazy allocations, code paths and
caches touched for the first time, a JIT compiling), so the first real request after a start,
a load or a hot swap would be the slowest one. The model manager runs these inferences on the
version's reference sample, when the registry holds one, through the same validation,
batcher and runtime path as a request, and only then lets the version answer. A warm-up that
fails is logged and the version is served anyway: its failure says nothing its requests would
not.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol, runtime_checkable

from modelport.protocol.table_codec import frame_to_inputs, records_to_frame
from modelport.protocol.types import InferenceRequest, Tensor
from modelport.serving.served import ServedModel
from modelport.serving.source import ResolvedVersion

__all__ = ["WARM_UP_BATCHES", "WarmUpSource", "warm_up"]

log = logging.getLogger(__name__)

WARM_UP_BATCHES = (1, 1, 1, 8, 8)
"""Rows per warm-up call: single rows (the latency path) first, then small batches."""


@runtime_checkable
class WarmUpSource(Protocol):
    """A model source that can give a version's reference rows for warming it up."""

    def warm_up_rows(self, version: ResolvedVersion) -> list[dict[str, Any]] | None:
        """Up to a few dozen rows keyed by input name, or None when there is no sample."""
        ...


async def warm_up(served: ServedModel, rows: list[dict[str, Any]]) -> int:
    """Predict ``rows`` in the batch sizes of WARM_UP_BATCHES through the version's own
    batcher (its predict thread starts, its timing estimate is set); returns the calls made.
    They are left out of the batch metrics."""
    if not rows:
        return 0
    started = time.perf_counter()
    calls = 0
    plan, batcher = served.plan, served.batcher
    observer, batcher.observer = batcher.observer, None  # warm-up is not traffic: no metrics
    try:
        for size in WARM_UP_BATCHES:
            chunk = (rows * size)[:size]
            await batcher.submit(plan.inputs(_request(served, chunk)), layout=plan.layout)
            calls += 1
    except Exception as exc:  # any failure: the version is served unwarmed
        log.warning(
            "model %r version %s: warm-up stopped after %d call(s): %s",
            served.name, served.version, calls, exc,
        )
        return calls
    finally:
        batcher.observer = observer
    log.info(
        "model %r version %s warmed up with %d inferences in %.1f ms",
        served.name, served.version, calls, (time.perf_counter() - started) * 1000,
    )
    return calls


def _request(served: ServedModel, rows: list[dict[str, Any]]) -> InferenceRequest:
    """Rows keyed by input name as the request a client would send."""
    signature = served.signature
    arrays = frame_to_inputs(records_to_frame(rows, signature), signature)
    return InferenceRequest(
        inputs=[
            Tensor(name=s.name, datatype=s.datatype, data=arrays[s.name])
            for s in signature.inputs
        ]
    )
