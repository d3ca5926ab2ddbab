"""The batcher: every caller gets exactly its own rows back, however requests are merged."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import numpy as np
import pytest

from modelport.errors import InvalidInput, PredictionFailed, Unavailable
from modelport.runtimes.base import Array, Batch
from modelport.serving.batcher import Arrivals, Batcher, BatchPolicy


class Recorder:
    """A model that doubles x and remembers the size of every call it got."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.calls: list[int] = []
        self.shapes: list[tuple[int, ...]] = []
        self.lock = threading.Lock()

    def __call__(self, batch: Batch) -> dict[str, Array]:
        if self.delay_s:
            time.sleep(self.delay_s)
        x = batch["x"]
        with self.lock:
            self.calls.append(x.shape[0])
            self.shapes.append(x.shape)
        if (x < 0).any():
            raise ValueError("negative input")
        return {"y": x * 2, "first": x.reshape(x.shape[0], -1)[:, 0]}


def test_policy_messages_teach() -> None:
    with pytest.raises(InvalidInput, match="use 1 to disable batching"):
        BatchPolicy(max_size=0)
    with pytest.raises(InvalidInput, match="use 0 to flush as soon as the model is free"):
        BatchPolicy(max_delay_ms=-1)
    with pytest.raises(InvalidInput, match="max_delay_ms"):
        BatchPolicy(max_delay_ms=float("nan"))
    policy = BatchPolicy(max_size=8, max_delay_ms=1)
    assert repr(policy) == "BatchPolicy(max_size=8, max_delay_ms=1)"


async def test_many_concurrent_callers_each_get_their_own_rows() -> None:
    model = Recorder(delay_s=0.003)
    batcher = Batcher(model, BatchPolicy(max_size=16, max_delay_ms=5))
    rng = random.Random(7)

    async def caller(i: int) -> None:
        rows = rng.randint(1, 3)
        x = np.arange(rows, dtype=np.float64) + 1000 * i
        await asyncio.sleep(rng.random() * 0.02)
        out = await batcher.submit({"x": x})
        np.testing.assert_array_equal(out["y"], x * 2)
        np.testing.assert_array_equal(out["first"], x)

    await asyncio.gather(*(caller(i) for i in range(300)))
    stats = batcher.stats
    assert stats.requests == 300
    assert stats.batches < 300, "concurrent requests should have been merged"
    assert max(model.calls) <= 16
    assert stats.rows == sum(model.calls)
    await batcher.close()


async def test_requests_with_different_trailing_shapes_or_dtypes_are_never_merged() -> None:
    model = Recorder(delay_s=0.002)
    batcher = Batcher(model, BatchPolicy(max_size=64, max_delay_ms=5))
    inputs = [
        np.ones((1, 3), dtype=np.float32),
        np.ones((2, 4), dtype=np.float32),
        np.ones((1, 3), dtype=np.float64),
        np.full((3, 3), 2, dtype=np.float32),
    ] * 10
    outs = await asyncio.gather(*(batcher.submit({"x": x}) for x in inputs))
    for x, out in zip(inputs, outs, strict=True):
        assert out["y"].dtype == x.dtype
        np.testing.assert_array_equal(out["y"], x * 2)
    # every call the model saw had one trailing shape and one dtype
    assert {s[1:] for s in model.shapes} == {(3,), (4,)}
    assert len(model.calls) < len(inputs)
    await batcher.close()


async def test_a_failing_request_fails_alone_with_a_clear_error() -> None:
    model = Recorder(delay_s=0.002)
    batcher = Batcher(model, BatchPolicy(max_size=32, max_delay_ms=5), name="fraud:1")
    xs = [np.array([float(i if i != 5 else -1)]) for i in range(20)]
    results = await asyncio.gather(
        *(batcher.submit({"x": x}) for x in xs), return_exceptions=True
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1
    assert isinstance(results[5], PredictionFailed)
    assert "fraud:1 failed while predicting 1 row(s): ValueError: negative input" in str(results[5])
    for i, r in enumerate(results):
        if i != 5:
            assert isinstance(r, dict)
            np.testing.assert_array_equal(r["y"], xs[i] * 2)
    assert batcher.stats.failed_requests == 1
    await batcher.close()


async def test_a_model_returning_the_wrong_number_of_rows_is_a_prediction_failure() -> None:
    batcher = Batcher(lambda b: {"y": np.zeros(1)}, name="m")
    with pytest.raises(PredictionFailed, match=r"returned 1 row.* but was given 3"):
        await batcher.submit({"x": np.zeros(3)})
    await batcher.close()


async def test_bad_batches_are_refused_before_queueing() -> None:
    batcher = Batcher(Recorder())
    with pytest.raises(InvalidInput, match="at least one input"):
        await batcher.submit({})
    with pytest.raises(InvalidInput, match="disagree on the number of rows"):
        await batcher.submit({"x": np.zeros(2), "z": np.zeros(3)})
    with pytest.raises(InvalidInput, match="scalar"):
        await batcher.submit({"x": np.float64(1.0).reshape(())})
    await batcher.close()
    with pytest.raises(Unavailable, match="shutting down"):
        await batcher.submit({"x": np.zeros(1)})


async def test_oversized_request_runs_alone_and_max_size_bounds_batches() -> None:
    model = Recorder(delay_s=0.002)
    batcher = Batcher(model, BatchPolicy(max_size=4, max_delay_ms=5))
    xs = [np.arange(10.0)] + [np.array([float(i)]) for i in range(12)]
    outs = await asyncio.gather(*(batcher.submit({"x": x}) for x in xs))
    for x, out in zip(xs, outs, strict=True):
        np.testing.assert_array_equal(out["y"], x * 2)
    assert 10 in model.calls
    assert all(c <= 4 for c in model.calls if c != 10)
    await batcher.close()


async def test_an_idle_model_answers_at_once_even_with_a_long_max_delay() -> None:
    arrivals = Arrivals()
    batcher = Batcher(Recorder(), BatchPolicy(max_size=64, max_delay_ms=2000), arrivals=arrivals)
    started = time.monotonic()
    for _ in range(5):
        await batcher.submit({"x": np.ones(1)})
    assert time.monotonic() - started < 0.5
    await batcher.close()


async def test_waits_for_requests_on_their_way_then_flushes_together() -> None:
    model = Recorder()
    arrivals = Arrivals()
    batcher = Batcher(model, BatchPolicy(max_size=64, max_delay_ms=2000), arrivals=arrivals)
    arrivals.enter()  # a request is being decoded somewhere
    first = asyncio.ensure_future(batcher.submit({"x": np.ones(1)}))
    await asyncio.sleep(0.05)
    assert not first.done(), "the batcher should wait for the request on its way"

    async def arrive() -> dict[str, Array]:
        arrivals.leave()  # it arrived: nobody else is coming
        return await batcher.submit({"x": np.ones(1) * 3})

    second = asyncio.ensure_future(arrive())
    a, b = await asyncio.gather(first, second)
    assert a["y"].tolist() == [2.0] and b["y"].tolist() == [6.0]
    assert model.calls == [2]
    await batcher.close()


async def test_max_delay_bounds_the_wait_for_company() -> None:
    arrivals = Arrivals()
    batcher = Batcher(Recorder(), BatchPolicy(max_size=64, max_delay_ms=30), arrivals=arrivals)
    arrivals.enter()  # never leaves
    started = time.monotonic()
    await batcher.submit({"x": np.ones(1)})
    waited = time.monotonic() - started
    assert 0.02 <= waited < 1.0
    await batcher.close()


async def test_a_caller_that_goes_away_does_not_disturb_the_others() -> None:
    model = Recorder(delay_s=0.01)
    batcher = Batcher(model, BatchPolicy(max_size=8, max_delay_ms=1))
    busy = asyncio.ensure_future(batcher.submit({"x": np.ones(1)}))
    await asyncio.sleep(0.002)
    gone = asyncio.ensure_future(batcher.submit({"x": np.full(1, 5.0)}))
    kept = asyncio.ensure_future(batcher.submit({"x": np.full(1, 7.0)}))
    await asyncio.sleep(0)
    gone.cancel()
    assert (await kept)["y"].tolist() == [14.0]
    await busy
    assert sum(model.calls) == 2  # the cancelled row never reached the model
    await batcher.close()
