"""Shadow traffic: a copy of a request answered by another version, never seen by the caller.

The mirror runs as its own task beside the primary request. It waits for its own answer
(bounded by a timeout), then for the primary's, and records whether they agree, how far
apart they are and how long each took. A shadow that fails, hangs or is slow only shows up
in those counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from modelport.protocol.types import InferenceRequest, InferenceResponse, Tensor
from modelport.routing.stats import ShadowCounts
from modelport.serving.pipeline import CallContext, Infer

__all__ = ["compare", "mirror", "pick_output"]

log = logging.getLogger(__name__)


def pick_output(response: InferenceResponse, name: str | None) -> Tensor | None:
    """The output compared between versions: ``name``, else the first one."""
    if not response.outputs:
        return None
    if name is not None:
        for tensor in response.outputs:
            if tensor.name == name:
                return tensor
    return response.outputs[0]


def compare(primary: InferenceResponse, shadow: InferenceResponse, output: str | None
            ) -> tuple[bool, float]:
    """(whether the answers agree, their mean absolute difference) on the compared output.

    Floats agree within a relative 1e-5; other types must be equal. Answers of different
    shapes disagree with a difference of 1."""
    a = pick_output(primary, output)
    b = pick_output(shadow, output)
    if a is None or b is None or a.data.shape != b.data.shape:
        return False, 1.0
    x: np.ndarray[Any, Any] = a.data
    y: np.ndarray[Any, Any] = b.data
    if x.dtype.kind in "biuf" and y.dtype.kind in "biuf":
        if x.size == 0:
            return True, 0.0
        xf = x.astype(np.float64)
        yf = y.astype(np.float64)
        diff = float(np.mean(np.abs(xf - yf)))
        same = bool(np.allclose(xf, yf, rtol=1e-5, atol=1e-8))
        return same, diff
    same = bool(np.array_equal(x, y))
    return same, 0.0 if same else 1.0


async def mirror(
    infer: Infer,
    ctx: CallContext,
    request: InferenceRequest,
    primary: asyncio.Future[tuple[InferenceResponse, float] | None],
    counts: Callable[[], ShadowCounts],
    *,
    timeout_s: float,
    output: str | None,
) -> None:
    """Answer ``request`` with the shadow version in ``ctx``; record the comparison in the
    counts that ``counts()`` returns when the outcome is known (the window current then)."""
    start = time.perf_counter()
    try:
        answer = await asyncio.wait_for(infer(ctx, request), timeout_s)
    except TimeoutError:
        done = counts()
        done.mirrored += 1
        done.timed_out += 1
        return
    except Exception as exc:
        done = counts()
        done.mirrored += 1
        done.failed += 1
        log.debug("shadow %s:%s failed: %s", ctx.model, ctx.version, exc)
        return
    latency_ms = (time.perf_counter() - start) * 1000.0
    result = await primary
    done = counts()
    done.mirrored += 1
    if result is None:  # the primary failed: nothing to compare with
        return
    response, primary_ms = result
    agree, diff = compare(response, answer, output)
    done.compared += 1
    done.agreed += int(agree)
    done.diff_sum += diff
    done.latency_sum_ms += latency_ms
    done.primary_latency_sum_ms += primary_ms
